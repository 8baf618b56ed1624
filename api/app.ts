import type { RequestListener } from 'node:http';
import express, { type Express, type Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { Config } from '../shared/config';
import type { CatalogSource } from '../shared/db/catalog-source';
import type { UsersRepository } from '../shared/db/repositories/users';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import type { Admission } from '../shared/resilience/admission';
import type { DbBreaker } from '../shared/resilience/breaker';
import { acceptEndpoint } from './accepts/accept-endpoint';
import { BULL_BOARD_PATH } from './admin/bull-board';
import { productAdminRoutes } from './admin/products/routes';
import type { ProductAdmin } from './admin/products/use-cases';
import { balanceRoutes } from './balance/routes';
import { catalogRoutes, productDetail } from './catalog/routes';
import type { Catalog } from './catalog/use-cases';
import { chargeAccepts, chargesRoutes } from './charges/routes';
import type { ChargesService } from './charges/use-cases';
import { createFastLane, type FastLane } from './fast-lane';
import { healthRoutes, type Probe } from './health/routes';
import { requireAdmin, sameOriginWrites } from './http/admin-auth';
import { createUserAuth, type UserAuth } from './http/auth';
import { createEdge, type Edge } from './http/edge';
import type { Endpoint } from './http/endpoint';
import { inFlightLimit } from './http/in-flight-limit';
import { jsonBody } from './http/json-body';
import { createRequestObserver } from './http/observe';
import { errorHandler, notFoundHandler } from './http/problem';
import { writeJson } from './http/respond';
import { API_HEADERS, PAGE_HEADERS, securityHeaders } from './http/security-headers';
import { buildOpenApiDocument } from './openapi';
import { orderAccepts, ordersRoutes } from './orders/routes';
import type { OrdersService } from './orders/use-cases';
import type { CancellationsService } from './orders/cancellations';
import { cancelEndpoint } from './orders/cancel-endpoint';

export interface AppDeps {
  config: Config;
  logger: Logger;
  catalog: Catalog;
  /** Where the catalog's reads go (primary or read replica); stopped by `stopAppDeps`. */
  catalogSource: CatalogSource;
  users: UsersRepository;
  charges: ChargesService;
  orders: OrdersService;
  cancellations: CancellationsService;
  metrics: Metrics;
  /** The breaker around database reads (its state is reported by metrics). */
  breaker: DbBreaker;
  /** Refuses accepts (503 OVERLOADED) while a backlog or the event loop is over its limit. */
  admission: Admission;
  /** Bull Board's router (mounted behind admin auth). */
  bullBoard: Router;
  /** The operator's catalog writes (`/admin/products`, behind admin auth). */
  productAdmin: ProductAdmin;
  /** Dependencies /readyz checks, by name (`database`, `redis`). */
  probes: Record<string, Probe>;
}

export interface ApiOptions {
  /**
   * Serve the hottest endpoints in front of Express (default true). Without it Express
   * serves every request, with the same endpoints: for middleware that must see every
   * request, and for tests comparing the two.
   */
  fastLane?: boolean;
}

/** What an API server runs: its request listener, the Express app inside it, and `close()`. */
export interface Api {
  listener: RequestListener;
  app: Express;
  /** The fast lane in front of Express, or undefined without it. */
  fastLane: FastLane | undefined;
  /** Stops what the API built (the access log's timer); the deps stay open for their owner. */
  close(): void;
}

/** The paths whose pages run inline scripts (no Content-Security-Policy). */
const PAGES = ['/docs', '/admin'];

/**
 * The API as `main.ts` serves it, and the tests too: every request passes the in-flight limit
 * of accepts, then the fast lane, then Express — begun by one edge (request id, security
 * headers, metrics and access log) and answered by one set of writers, whichever serves it.
 */
export function createApi(deps: AppDeps, options: ApiOptions = {}): Api {
  const observer = createRequestObserver(deps.logger, deps.metrics);
  const edge = createEdge({
    observer,
    strict: securityHeaders(API_HEADERS),
    relaxed: securityHeaders(PAGE_HEADERS),
    relaxedPrefixes: PAGES,
  });
  const auth = createUserAuth(deps.config.jwtSecret);
  const orderRoute = orderAccepts(deps.orders);
  const chargeRoute = chargeAccepts(deps.charges);
  const accepts = { auth, admission: deps.admission, metrics: deps.metrics };
  const endpoints: HotEndpoints = {
    productDetail: productDetail(deps.catalog),
    placeOrder: acceptEndpoint(orderRoute, accepts),
    charge: acceptEndpoint(chargeRoute, accepts),
  };
  const app = createApp(deps, { edge, auth, endpoints });
  const lane =
    options.fastLane === false
      ? undefined
      : createFastLane(Object.values(endpoints), edge, deps.logger);
  const limit = inFlightLimit({
    maxInFlight: deps.config.admission.maxInFlight,
    routes: [orderRoute, chargeRoute],
    userOf: (header) => auth.userOf(header),
    edge,
    metrics: deps.metrics,
  });
  return {
    listener: (req, res) => {
      limit(req, res, () => {
        if (lane?.serve(req, res) !== true) app(req, res);
      });
    },
    app,
    fastLane: lane,
    close: () => {
      observer.stop();
    },
  };
}

/** The endpoints the fast lane serves too. */
export interface HotEndpoints {
  productDetail: Endpoint;
  placeOrder: Endpoint;
  charge: Endpoint;
}

/** The Express application, without a listening socket; it builds nothing it does not own. */
export function createApp(
  deps: AppDeps,
  parts: { edge: Edge; auth: UserAuth; endpoints: HotEndpoints },
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(parts.edge.middleware);
  app.use(
    '/docs',
    swaggerUi.serve,
    swaggerUi.setup(undefined, {
      // operationIds are what the typed client (client/) calls; no validator badge, which
      // would send the document's URL to an outside service.
      swaggerOptions: { url: '/openapi.json', displayOperationId: true, validatorUrl: null },
    }),
  );
  // Operator surfaces: closed unless ADMIN_PASSWORD is set; never changed cross-site.
  app.use('/admin', requireAdmin(deps.config.admin), sameOriginWrites());
  app.use(BULL_BOARD_PATH, deps.bullBoard);
  app.use(productAdminRoutes(deps.productAdmin));

  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  const openapi = JSON.stringify(buildOpenApiDocument());
  app.get('/openapi.json', (req, res) => {
    writeJson(req, res, 200, openapi);
  });

  app.use(healthRoutes(deps.probes));
  app.use(catalogRoutes(deps.catalog, parts.endpoints.productDetail));
  const requireUser = parts.auth.requireUser;
  app.use(balanceRoutes(deps.users, requireUser));
  app.use(chargesRoutes(deps.charges, requireUser, parts.endpoints.charge));
  const cancel = cancelEndpoint(deps.cancellations, {
    auth: parts.auth,
    admission: deps.admission,
    metrics: deps.metrics,
  });
  app.use(ordersRoutes(deps.orders, requireUser, parts.endpoints.placeOrder, cancel));

  // Writes to any other path: a body must still be JSON (415, 413, 400) before the 404.
  app.use(jsonBody());
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}
