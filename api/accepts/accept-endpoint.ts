import type { z } from 'zod';
import type { Metrics } from '../../shared/metrics';
import type { Admission } from '../../shared/resilience/admission';
import { rateLimited, refused } from '../http/admission';
import type { Refusal } from '../../shared/resilience/admission';
import type { UserAuth } from '../http/auth';
import { exactly, type Endpoint } from '../http/endpoint';
import { readJsonBody } from '../http/json-body';
import { writeAccepted } from '../http/respond';
import { parse } from '../http/validate';
import { requireIdempotencyKey, type AcceptOutcome, type Accepted } from './accept-path';

/** What one accept endpoint (`POST /api/orders`, `POST /api/charges`) is made of. */
export interface AcceptRoute<B> {
  path: '/api/orders' | '/api/charges';
  queue: string;
  idField: 'orderId' | 'chargeId';
  schema: z.ZodType<B>;
  /**
   * The body as the schema parses it when it has the usual shape, recognised by hand; else
   * undefined, and the schema parses it (and words the 400). Never answers a body the schema
   * would refuse.
   */
  usual(json: unknown): B | undefined;
  /** Whether the user's key was used before: a request with it is a replay (or a reuse). */
  isKeyUsed(userId: number, key: string): Promise<boolean>;
  /** Refused (nothing written) by admission when `refuseNew`, or by the user's rate limit. */
  accept(
    userId: number,
    key: string,
    body: B,
    requestId: string,
    refuseNew: boolean,
  ): Promise<AcceptOutcome>;
}

export interface AcceptEndpointDeps {
  auth: UserAuth;
  admission: Admission;
  metrics: Metrics;
}

/**
 * An accept, step by step: the body (415, 413, 400 INVALID_JSON), the user (401), the
 * Idempotency-Key (400), the body's schema (400 VALIDATION_FAILED), admission control, then
 * the accept itself and 202 — or 503 OVERLOADED when admission refuses new work and this is
 * not a replay. A client mistake is a 4xx even while work is being shed.
 */
export function acceptEndpoint<B>(route: AcceptRoute<B>, deps: AcceptEndpointDeps): Endpoint {
  return {
    method: 'POST',
    route: route.path,
    match: exactly(route.path),
    async serve(req, res, request) {
      const json = await readJsonBody(req);
      const userId = await deps.auth.verify(req.headers.authorization);
      const key = requireIdempotencyKey(req.headers['idempotency-key']);
      const body = route.usual(json) ?? parse(route.schema, json, 'body');
      // The accept's own script tells a replay (answered) from new work (refused).
      const refusal = deps.admission.check(route.queue);
      const outcome = await route.accept(userId, key, body, request.id, refusal !== null);
      const accepted = acceptedOrThrow(outcome, refusal, route.queue, deps.metrics);
      writeAccepted(req, res, route.idField, accepted, `${route.path}/${accepted.id}`);
    },
  };
}

/** The accepted request, or the 503 OVERLOADED / 429 RATE_LIMITED of a refused one, counted. */
export function acceptedOrThrow(
  outcome: AcceptOutcome,
  refusal: Refusal | null,
  queue: string,
  metrics: Metrics,
): Accepted {
  if ('accepted' in outcome) return outcome.accepted;
  if (outcome.refused === 'rate') throw rateLimited(outcome.retryAfterSeconds, queue, metrics);
  if (refusal === null) throw new Error('a request was refused while admission allowed it');
  throw refused(refusal, queue, metrics);
}
