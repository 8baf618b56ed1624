import { Router, type RequestHandler } from 'express';
import { AppError } from '../../shared/errors';
import { ORDERS_QUEUE } from '../../shared/queues/orders';
import type { AcceptRoute } from '../accepts/accept-endpoint';
import { userIdOf } from '../http/auth';
import { mount, type Endpoint } from '../http/endpoint';
import { writeJson, writeStatus } from '../http/respond';
import { parse } from '../http/validate';
import { listOrdersQuery, placeOrderBody, usualOrderBody, type PlaceOrder } from './schemas';
import type { OrdersService } from './use-cases';

/** `POST /api/orders`: the order body, and the use-case that accepts it. */
export function orderAccepts(orders: OrdersService): AcceptRoute<PlaceOrder> {
  return {
    path: '/api/orders',
    queue: ORDERS_QUEUE,
    idField: 'orderId',
    isKeyUsed: (userId, key) => orders.isKeyUsed(userId, key),
    schema: placeOrderBody,
    usual: usualOrderBody,
    accept: (userId, key, body, requestId, refuseNew) =>
      orders.accept(userId, key, body, requestId, refuseNew),
  };
}

/**
 * The order routes; `accept` is `POST /api/orders` (`acceptEndpoint(orderAccepts(...))`),
 * `cancel` is `POST /api/orders/:orderId/cancel` (`cancelEndpoint`).
 */
export function ordersRoutes(
  orders: OrdersService,
  requireUser: RequestHandler,
  accept: Endpoint,
  cancel: Endpoint,
): Router {
  const router = Router();

  mount(router, accept);
  mount(router, cancel);

  router.get('/api/orders', requireUser, async (req, res) => {
    const query = parse(listOrdersQuery, req.query, 'query');
    const page = await orders.list(userIdOf(res), query.cursor, query.limit);
    writeJson(req, res, 200, JSON.stringify(page));
  });

  router.get('/api/orders/:orderId', requireUser, async (req, res) => {
    const view = await orders.status(userIdOf(res), String(req.params.orderId));
    if (!view) throw new AppError('ORDER_NOT_FOUND');
    writeStatus(req, res, view);
  });

  return router;
}
