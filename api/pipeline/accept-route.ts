import type { RequestHandler } from 'express';
import type { z } from 'zod';
import type { Metrics } from '../../shared/metrics';
import type { Admission } from '../../shared/resilience/admission';
import { refused } from '../http/admission';
import { userIdOf } from '../http/auth';
import { requestIdOf } from '../http/request-id';
import { parse } from '../http/validate';
import { requireIdempotencyKey, type Accepted } from './accept';
import { sendAccepted } from './respond';

/** One accept endpoint, as both its Express route and the fast path serve it. */
export interface AcceptRoute<B> {
  path: '/api/orders' | '/api/charges';
  queue: string;
  idField: 'orderId' | 'chargeId';
  schema: z.ZodType<B>;
  /** Whether the user's key was used before: a request with it is a replay (or a reuse). */
  isKeyUsed(userId: number, key: string): Promise<boolean>;
  /** Answers null when `refuseNew` and the request is not a replay (nothing was accepted). */
  accept(
    userId: number,
    key: string,
    body: B,
    requestId: string,
    refuseNew: boolean,
  ): Promise<Accepted | null>;
}

/**
 * The Express handler of an accept endpoint (after authentication): key, then the steps the
 * fast path (`fast-accepts.ts`) runs too — body, admission, accept ({@link fastAcceptRoute})
 * — then 202.
 */
export function acceptHandler<B>(
  route: AcceptRoute<B>,
  admission: Admission,
  metrics: Metrics,
): RequestHandler {
  const sealed = fastAcceptRoute(route);
  return async (req, res) => {
    const key = requireIdempotencyKey(req.get('idempotency-key'));
    const accepted = await sealed.accept(userIdOf(res), key, req.body, requestIdOf(res.locals), {
      admission,
      metrics,
    });
    sendAccepted(res, route.idField, accepted, `${route.path}/${accepted.id}`);
  };
}

/** An {@link AcceptRoute} with its body type sealed in: validates, admits, accepts. */
export interface FastAcceptRoute {
  path: string;
  idField: string;
  accept(
    userId: number,
    key: string,
    json: unknown,
    requestId: string,
    admission: { admission: Admission; metrics: Metrics },
  ): Promise<Accepted>;
}

export function fastAcceptRoute<B>(route: AcceptRoute<B>): FastAcceptRoute {
  return {
    path: route.path,
    idField: route.idField,
    async accept(userId, key, json, requestId, { admission, metrics }) {
      const body = parse(route.schema, json, 'body');
      // After validation: a client mistake is a 4xx even while work is being shed. A replay
      // is answered even then: the accept's own script tells a replay from new work.
      const refusal = admission.check(route.queue);
      const accepted = await route.accept(userId, key, body, requestId, refusal !== null);
      if (accepted !== null) return accepted;
      if (refusal === null) throw new Error('a request was refused while admission allowed it');
      throw refused(refusal, route.queue, metrics);
    },
  };
}
