import { Router, type RequestHandler } from 'express';
import { AppError } from '../../shared/errors';
import { ORDERS_QUEUE } from '../../shared/queues/orders';
import type { Metrics } from '../../shared/metrics';
import type { Admission } from '../../shared/resilience/admission';
import { admit } from '../http/admission';
import { userIdOf } from '../http/auth';
import { requestIdOf } from '../http/request-id';
import { parse } from '../http/validate';
import { requireIdempotencyKey } from '../pipeline/accept';
import { sendAccepted, sendStatus } from '../pipeline/respond';
import { listOrdersQuery, placeOrderBody } from './schemas';
import type { OrdersService } from './use-cases';

export function ordersRoutes(
  orders: OrdersService,
  requireUser: RequestHandler,
  admission: Admission,
  metrics: Metrics,
): Router {
  const router = Router();

  router.post('/api/orders', requireUser, async (req, res) => {
    const key = requireIdempotencyKey(req.get('idempotency-key'));
    const body = parse(placeOrderBody, req.body, 'body');
    // After validation: a client mistake is a 4xx even while work is being shed.
    admit(admission, ORDERS_QUEUE, metrics);
    const accepted = await orders.accept(userIdOf(res), key, body, requestIdOf(res.locals));
    sendAccepted(res, 'orderId', accepted, `/api/orders/${accepted.id}`);
  });

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
