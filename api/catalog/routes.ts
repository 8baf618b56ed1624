import { Router } from 'express';
import { mount, type Endpoint } from '../http/endpoint';
import { writeJson } from '../http/respond';
import { parse } from '../http/validate';
import type { CachedJson } from './json-cache';
import { listProductsQuery, productIdParams } from './schemas';
import type { Catalog } from './use-cases';

const PRODUCT_PATH = /^\/api\/products\/([1-9][0-9]{0,15})$/;
const PRODUCT_ID = /^[1-9][0-9]{0,15}$/;

/** The bodies are JSON already; served stale (the database unreachable), it says how old. */
function sendCached(
  req: Parameters<Endpoint['serve']>[0],
  res: Parameters<Endpoint['serve']>[1],
  cached: CachedJson,
): void {
  writeJson(
    req,
    res,
    200,
    cached.json,
    cached.ageSeconds === null ? [] : ['Age', String(cached.ageSeconds)],
  );
}

/**
 * `GET /api/products/:productId`, the hottest read: a product this process holds fresh is
 * answered without awaiting anything.
 */
export function productDetail(catalog: Catalog): Endpoint {
  return {
    method: 'GET',
    route: '/api/products/:productId',
    match(path) {
      const id = PRODUCT_PATH.exec(path)?.[1];
      return id === undefined ? undefined : { productId: id };
    },
    serve(req, res, { params }) {
      // The lane's match already guarantees a well-formed id; Express's params are checked.
      const given = params.productId ?? '';
      const id = Number(given);
      const productId =
        PRODUCT_ID.test(given) && Number.isSafeInteger(id)
          ? id
          : parse(productIdParams, params, 'params').productId;
      const fresh = catalog.cachedProduct(productId);
      if (fresh !== undefined) {
        writeJson(req, res, 200, fresh);
        return;
      }
      return catalog.get(productId).then((cached) => {
        sendCached(req, res, cached);
      });
    },
  };
}

export function catalogRoutes(catalog: Catalog, detail: Endpoint): Router {
  const router = Router();

  router.get('/api/products', async (req, res) => {
    const query = parse(listProductsQuery, req.query, 'query');
    sendCached(req, res, await catalog.list(query.cursor, query.limit));
  });

  // Before the product detail, which would otherwise reject "top" as an id.
  router.get('/api/products/top', async (req, res) => {
    writeJson(req, res, 200, await catalog.top());
  });

  mount(router, detail);
  return router;
}
