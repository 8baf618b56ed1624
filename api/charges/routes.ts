import { Router, type RequestHandler } from 'express';
import { AppError } from '../../shared/errors';
import { CHARGES_QUEUE } from '../../shared/queues/charges';
import type { AcceptRoute } from '../accepts/accept-endpoint';
import { userIdOf } from '../http/auth';
import { mount, type Endpoint } from '../http/endpoint';
import { writeStatus } from '../http/respond';
import { chargeBody, usualChargeBody, type Charge } from './schemas';
import type { ChargesService } from './use-cases';

/** `POST /api/charges`: the charge body, and the use-case that accepts it. */
export function chargeAccepts(charges: ChargesService): AcceptRoute<Charge> {
  return {
    path: '/api/charges',
    queue: CHARGES_QUEUE,
    idField: 'chargeId',
    isKeyUsed: (userId, key) => charges.isKeyUsed(userId, key),
    schema: chargeBody,
    usual: usualChargeBody,
    accept: (userId, key, body, requestId, refuseNew) =>
      charges.accept(userId, key, body, requestId, refuseNew),
  };
}

/** The charge routes; `accept` is `POST /api/charges` (`acceptEndpoint(chargeAccepts(...))`). */
export function chargesRoutes(
  charges: ChargesService,
  requireUser: RequestHandler,
  accept: Endpoint,
): Router {
  const router = Router();

  mount(router, accept);

  router.get('/api/charges/:chargeId', requireUser, async (req, res) => {
    const view = await charges.status(userIdOf(res), String(req.params.chargeId));
    if (!view) throw new AppError('CHARGE_NOT_FOUND');
    writeStatus(req, res, view);
  });

  return router;
}
