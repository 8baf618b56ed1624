import { Router } from 'express';
import { requireIdempotencyKey } from '../../accepts/accept-path';
import { productIdParams } from '../../catalog/schemas';
import { jsonBody } from '../../http/json-body';
import { writeJson } from '../../http/respond';
import { parse } from '../../http/validate';
import { createProductBody, restockBody, updateProductBody } from './schemas';
import type { ProductAdmin } from './use-cases';

export const ADMIN_PRODUCTS_PATH = '/admin/products';

/**
 * The operator's catalog writes. Mounted behind admin Basic auth and the same-origin guard
 * (app.ts), so by the time these run the caller is the operator. Each validates its input
 * (path, Idempotency-Key, body: 400 before anything is written), calls one use-case and
 * writes the answer.
 */
export function productAdminRoutes(admin: ProductAdmin): Router {
  const router = Router();
  const body = jsonBody();

  router.post(ADMIN_PRODUCTS_PATH, body, async (req, res) => {
    const input = parse(createProductBody, req.body, 'body');
    const product = await admin.create({ ...input, description: input.description ?? '' });
    writeJson(req, res, 201, JSON.stringify(product), ['Location', `/api/products/${product.id}`]);
  });

  router.patch(`${ADMIN_PRODUCTS_PATH}/:productId`, body, async (req, res) => {
    const { productId } = parse(productIdParams, req.params, 'params');
    const changes = parse(updateProductBody, req.body, 'body');
    writeJson(req, res, 200, JSON.stringify(await admin.update(productId, changes)));
  });

  router.post(`${ADMIN_PRODUCTS_PATH}/:productId/restock`, body, async (req, res) => {
    const { productId } = parse(productIdParams, req.params, 'params');
    const key = requireIdempotencyKey(req.headers['idempotency-key']);
    const { quantity } = parse(restockBody, req.body, 'body');
    const restocked = await admin.restock(productId, quantity, key);
    writeJson(
      req,
      res,
      200,
      JSON.stringify({ productId: restocked.productId, stock: restocked.stock }),
      restocked.replayed ? ['Idempotent-Replayed', 'true'] : [],
    );
  });

  return router;
}
