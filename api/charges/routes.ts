import { Router, type RequestHandler } from 'express';
import { AppError } from '../../shared/errors';
import { CHARGES_QUEUE } from '../../shared/queues/charges';
import type { Metrics } from '../../shared/metrics';
import type { Admission } from '../../shared/resilience/admission';
import { admit } from '../http/admission';
import { userIdOf } from '../http/auth';
import { requestIdOf } from '../http/request-id';
import { parse } from '../http/validate';
import { requireIdempotencyKey } from '../pipeline/accept';
import { sendAccepted, sendStatus } from '../pipeline/respond';
import { chargeBody } from './schemas';
import type { ChargesService } from './use-cases';

export function chargesRoutes(
  charges: ChargesService,
  requireUser: RequestHandler,
  admission: Admission,
  metrics: Metrics,
): Router {
  const router = Router();

  router.post('/api/charges', requireUser, async (req, res) => {
    const key = requireIdempotencyKey(req.get('idempotency-key'));
    const body = parse(chargeBody, req.body, 'body');
    // After validation: a client mistake is a 4xx even while work is being shed.
    admit(admission, CHARGES_QUEUE, metrics);
    const accepted = await charges.accept(userIdOf(res), key, body, requestIdOf(res.locals));
    sendAccepted(res, 'chargeId', accepted, `/api/charges/${accepted.id}`);
  });

  router.get('/api/charges/:chargeId', requireUser, async (req, res) => {
    const view = await charges.status(userIdOf(res), String(req.params.chargeId));
    if (!view) throw new AppError('CHARGE_NOT_FOUND');
    sendStatus(res, view);
  });

  return router;
}
