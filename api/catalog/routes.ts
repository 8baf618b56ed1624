import { Router, type Response } from 'express';
import { parse } from '../http/validate';
import type { CachedJson } from './json-cache';
import { listProductsQuery, productIdParams } from './schemas';
import type { Catalog } from './use-cases';

/** The bodies are JSON already: no serialisation per request. */
function sendJson(res: Response, json: string): void {
  res.type('application/json').send(json);
}

/** A cached body; served stale (the database unreachable), it says how old it is. */
function sendCached(res: Response, cached: CachedJson): void {
  if (cached.ageSeconds !== null) res.setHeader('Age', String(cached.ageSeconds));
  sendJson(res, cached.json);
}

export function catalogRoutes(catalog: Catalog): Router {
  const router = Router();

  router.get('/api/products', async (req, res) => {
    const query = parse(listProductsQuery, req.query, 'query');
    sendCached(res, await catalog.list(query.cursor, query.limit));
  });

  // Before /:productId, which would otherwise reject "top" as an id.
  router.get('/api/products/top', async (_req, res) => {
    sendJson(res, await catalog.top());
  });

  router.get('/api/products/:productId', async (req, res) => {
    const { productId } = parse(productIdParams, req.params, 'params');
    sendCached(res, await catalog.get(productId));
  });

  return router;
}
