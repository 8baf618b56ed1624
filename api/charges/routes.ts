import { Router, type RequestHandler } from 'express';
import type { z } from 'zod';
import { AppError } from '../../shared/errors';
import { CHARGES_QUEUE } from '../../shared/queues/charges';
import type { Metrics } from '../../shared/metrics';
import type { Admission } from '../../shared/resilience/admission';
import { userIdOf } from '../http/auth';
import { acceptHandler, type AcceptRoute } from '../pipeline/accept-route';
import { sendStatus } from '../pipeline/respond';
import { chargeBody } from './schemas';
import type { ChargesService } from './use-cases';

/** `POST /api/charges`, served by this router and by the fast path in front of Express. */
export function chargeAccepts(charges: ChargesService): AcceptRoute<z.output<typeof chargeBody>> {
  return {
    path: '/api/charges',
    queue: CHARGES_QUEUE,
    idField: 'chargeId',
    isKeyUsed: (userId, key) => charges.isKeyUsed(userId, key),
    schema: chargeBody,
    accept: (userId, key, body, requestId, refuseNew) =>
      charges.accept(userId, key, body, requestId, refuseNew),
  };
}

export function chargesRoutes(
  charges: ChargesService,
  requireUser: RequestHandler,
  admission: Admission,
  metrics: Metrics,
): Router {
  const router = Router();

  router.post(
    '/api/charges',
    requireUser,
    acceptHandler(chargeAccepts(charges), admission, metrics),
  );

  router.get('/api/charges/:chargeId', requireUser, async (req, res) => {
    const view = await charges.status(userIdOf(res), String(req.params.chargeId));
    if (!view) throw new AppError('CHARGE_NOT_FOUND');
    sendStatus(res, view);
  });

  return router;
}
