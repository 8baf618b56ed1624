import { Router, type RequestHandler } from 'express';
import type { z } from 'zod';
import { AppError } from '../../shared/errors';
import { ORDERS_QUEUE } from '../../shared/queues/orders';
import type { Metrics } from '../../shared/metrics';
import type { Admission } from '../../shared/resilience/admission';
import { userIdOf } from '../http/auth';
import { parse } from '../http/validate';
import { acceptHandler, type AcceptRoute } from '../pipeline/accept-route';
import { sendStatus } from '../pipeline/respond';
import { listOrdersQuery, placeOrderBody } from './schemas';
import type { OrdersService } from './use-cases';

/** `POST /api/orders`, served by this router and by the fast path in front of Express. */
export function orderAccepts(orders: OrdersService): AcceptRoute<z.output<typeof placeOrderBody>> {
  return {
    path: '/api/orders',
    queue: ORDERS_QUEUE,
    idField: 'orderId',
    isKeyUsed: (userId, key) => orders.isKeyUsed(userId, key),
    schema: placeOrderBody,
    accept: (userId, key, body, requestId, refuseNew) =>
      orders.accept(userId, key, body, requestId, refuseNew),
  };
}

export function ordersRoutes(
  orders: OrdersService,
  requireUser: RequestHandler,
  admission: Admission,
  metrics: Metrics,
): Router {
  const router = Router();

  router.post('/api/orders', requireUser, acceptHandler(orderAccepts(orders), admission, metrics));

  router.get('/api/orders', requireUser, async (req, res) => {
    const query = parse(listOrdersQuery, req.query, 'query');
    res.json(await orders.list(userIdOf(res), query.cursor, query.limit));
  });

  router.get('/api/orders/:orderId', requireUser, async (req, res) => {
    const view = await orders.status(userIdOf(res), String(req.params.orderId));
    if (!view) throw new AppError('ORDER_NOT_FOUND');
    sendStatus(res, view);
  });

  return router;
}
