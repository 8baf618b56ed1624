import { z } from 'zod';
import type { Metrics } from '../../shared/metrics';
import { CANCELLATIONS_QUEUE } from '../../shared/queues/cancellations';
import type { Admission } from '../../shared/resilience/admission';
import { acceptedOrThrow } from '../accepts/accept-endpoint';
import { requireIdempotencyKey } from '../accepts/accept-path';
import type { UserAuth } from '../http/auth';
import type { Endpoint } from '../http/endpoint';
import { readJsonBody } from '../http/json-body';
import { writeJson } from '../http/respond';
import { parse } from '../http/validate';
import type { CancellationsService } from './cancellations';

export const CANCEL_ROUTE = '/api/orders/:orderId/cancel';

/** No body, or an empty JSON object. */
export const cancelOrderBody = z
  .strictObject({})
  .meta({ id: 'CancelOrder', description: 'No body, or an empty object.' });

const CANCEL_PATH = /^\/api\/orders\/([^/]+)\/cancel$/;

export interface CancelEndpointDeps {
  auth: UserAuth;
  admission: Admission;
  metrics: Metrics;
}

/**
 * `POST /api/orders/:orderId/cancel`, step by step as every accept: the body (415, 413, 400),
 * the user (401), the Idempotency-Key (400), the body's schema, the order (404, 409), admission
 * control and the rate limit (503, 429; a replay is answered regardless), then 202 with the
 * order's status URL to poll.
 */
export function cancelEndpoint(
  cancellations: CancellationsService,
  deps: CancelEndpointDeps,
): Endpoint {
  return {
    method: 'POST',
    route: CANCEL_ROUTE,
    match(path) {
      const found = CANCEL_PATH.exec(path);
      return found ? { orderId: decodeURIComponent(found[1] ?? '') } : undefined;
    },
    async serve(req, res, request) {
      const json = await readJsonBody(req);
      const userId = await deps.auth.verify(req.headers.authorization);
      const key = requireIdempotencyKey(req.headers['idempotency-key']);
      parse(cancelOrderBody, json === undefined ? {} : json, 'body');
      const orderId = String(request.params.orderId);
      const refusal = deps.admission.check(CANCELLATIONS_QUEUE);
      const outcome = await cancellations.cancel(
        userId,
        orderId,
        key,
        request.id,
        refusal !== null,
      );
      const accepted = acceptedOrThrow(outcome, refusal, CANCELLATIONS_QUEUE, deps.metrics);
      const statusUrl = `/api/orders/${orderId}`;
      const body = JSON.stringify({ orderId, status: accepted.answer || 'PENDING', statusUrl });
      const extra = accepted.replayed ? ['Idempotent-Replayed', 'true'] : [];
      extra.push('Location', statusUrl);
      writeJson(req, res, 202, body, extra);
    },
  };
}
