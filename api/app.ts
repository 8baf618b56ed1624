import type { RequestListener } from 'node:http';
import express, { type Express, type Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { Config } from '../shared/config';
import { BULL_BOARD_PATH } from './admin/bull-board';
import type { UsersRepository } from '../shared/db/repositories/users';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import type { Admission } from '../shared/resilience/admission';
import type { DbBreaker } from '../shared/resilience/breaker';
import { balanceRoutes } from './balance/routes';
import { catalogRoutes } from './catalog/routes';
import { chargeAccepts, chargesRoutes } from './charges/routes';
import type { ChargesService } from './charges/use-cases';
import type { Catalog } from './catalog/use-cases';
import { healthRoutes, type Probe } from './health/routes';
import { createRequestObserver, type RequestObserver } from './http/observe';
import { securityHeaders, sendHeaders } from './http/security-headers';
import { fastProductReads } from './catalog/fast-reads';
import { acceptDoor } from './http/accept-door';
import { fastAccepts } from './pipeline/fast-accepts';
import { fastAcceptRoute } from './pipeline/accept-route';
import { requireAdmin, sameOriginWrites } from './http/admin-auth';
import { createUserAuth, type UserAuth } from './http/auth';
import { jsonBody } from './http/json-body';
import { errorHandler, notFoundHandler } from './http/problem';
import { requestId } from './http/request-id';
import { buildOpenApiDocument } from './openapi';
import { orderAccepts, ordersRoutes } from './orders/routes';
import type { OrdersService } from './orders/use-cases';

export interface AppDeps {
  config: Config;
  logger: Logger;
  catalog: Catalog;
  users: UsersRepository;
  charges: ChargesService;
  orders: OrdersService;
  metrics: Metrics;
  /** The breaker around database reads (its state is reported by metrics). */
  breaker: DbBreaker;
  /** Refuses accepts (503 OVERLOADED) while a backlog or the event loop is over its limit. */
  admission: Admission;
  /** Bull Board's router (mounted behind admin auth). */
  bullBoard: Router;
  /** Dependencies /readyz checks, by name (`database`, `redis`). */
  probes: Record<string, Probe>;
}

/**
 * What an HTTP server of the API runs per request (main.ts and the tests both serve it): the
 * hot read path for cached product details, then the accepts' in-flight limit, then the fast
 * accept path, in front of the Express application. Each passes what it does not serve on.
 */
export function createRequestListener(deps: AppDeps): RequestListener {
  const observer = createRequestObserver(deps.logger, deps.metrics);
  const auth = createUserAuth(deps.config.jwtSecret);
  const app = createApp(deps, observer, auth);
  const orderRoute = orderAccepts(deps.orders);
  const chargeRoute = chargeAccepts(deps.charges);
  const accepts = fastAccepts(
    {
      routes: [fastAcceptRoute(orderRoute), fastAcceptRoute(chargeRoute)],
      knownUser: (header) => auth.knownUser(header),
      admission: deps.admission,
      metrics: deps.metrics,
      observer,
      logger: deps.logger,
      headers: STRICT_HEADERS,
    },
    app,
  );
  const door = acceptDoor(
    {
      maxInFlight: deps.config.admission.maxInFlight,
      routes: [orderRoute, chargeRoute],
      userOf: (header) => auth.userOf(header),
      observer,
      metrics: deps.metrics,
      headers: STRICT_HEADERS,
    },
    accepts,
  );
  return fastProductReads(
    { cachedProduct: (id) => deps.catalog.cachedProduct(id), observer, headers: STRICT_HEADERS },
    door,
  );
}

/** Helmet's headers; Swagger UI and Bull Board need inline scripts, so they get no CSP. */
const STRICT_HEADERS = securityHeaders();
const RELAXED_HEADERS = securityHeaders({ contentSecurityPolicy: false });

/** The Express application, without a listening socket. */
export function createApp(
  deps: AppDeps,
  observer: RequestObserver = createRequestObserver(deps.logger, deps.metrics),
  auth: UserAuth = createUserAuth(deps.config.jwtSecret),
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use(requestId());
  app.use(observer.middleware);

  const relaxedHelmet = sendHeaders(RELAXED_HEADERS);
  app.use(
    '/docs',
    relaxedHelmet,
    swaggerUi.serve,
    swaggerUi.setup(undefined, {
      // operationIds are what the typed client (client/) calls; no validator badge, which
      // would send the document's URL to an outside service.
      swaggerOptions: { url: '/openapi.json', displayOperationId: true, validatorUrl: null },
    }),
  );
  // Operator surfaces: closed unless ADMIN_PASSWORD is set; never changed cross-site.
  app.use('/admin', relaxedHelmet, requireAdmin(deps.config.admin), sameOriginWrites());
  app.use(BULL_BOARD_PATH, deps.bullBoard);
  app.use(sendHeaders(STRICT_HEADERS));

  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  const openapi = buildOpenApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  app.use(jsonBody());
  app.use(healthRoutes(deps.probes));
  app.use(catalogRoutes(deps.catalog));
  const authenticated = auth.requireUser;
  app.use(balanceRoutes(deps.users, authenticated));
  app.use(chargesRoutes(deps.charges, authenticated, deps.admission, deps.metrics));
  app.use(ordersRoutes(deps.orders, authenticated, deps.admission, deps.metrics));

  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}
