import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AppError } from '../../shared/errors';
import type { Metrics } from '../../shared/metrics';
import type { RequestObserver } from './observe';
import { writeProblem } from './problem';
import { requestIdFor } from './request-id';
import type { HeaderSet } from './security-headers';

/** An accept endpoint as the door sees it. */
export interface DoorRoute {
  path: string;
  queue: string;
  /** Whether this user's key was used before: the request is a replay (or a key reuse). */
  isKeyUsed(userId: number, key: string): Promise<boolean>;
}

export interface AcceptDoorDeps {
  /** Accepts this process may have in progress at once (ADMISSION_MAX_IN_FLIGHT). */
  maxInFlight: number;
  routes: readonly DoorRoute[];
  /** The user of an Authorization header, or undefined; never throws. */
  userOf(authorization: string | undefined): Promise<number | undefined>;
  observer: RequestObserver;
  metrics: Metrics;
  headers: HeaderSet;
}

/**
 * The in-flight limit of admission control, at the front door. An accept (`POST /api/orders`,
 * `POST /api/charges`) counts from its arrival until its response is done; past the limit the
 * next is answered 503 OVERLOADED, before Express, body parsing or validation spend anything on
 * it. By Little's law this bounds the latency of admitted accepts (about limit ÷ throughput)
 * however many connections arrive; without it they all queue. A limit checked inside the
 * route refused too late: each refusal had cost most of an accept (load/REPORT.md, overload).
 *
 * A replay costs no capacity (the contract): past the limit, a request whose user's
 * Idempotency-Key was used before is let through to get its first answer; that check is one
 * Redis EXISTS. The backlog and event-loop checks stay in the route (`accept-route.ts`), where
 * a client mistake still gets its 4xx first.
 */
export function acceptDoor(deps: AcceptDoorDeps, next: RequestListener): RequestListener {
  let inFlight = 0;
  const fixed = [...deps.headers].flat();
  const routes = new Map(deps.routes.map((route) => [route.path, route]));

  const enter = (req: IncomingMessage, res: ServerResponse) => {
    inFlight++;
    res.once('close', () => {
      inFlight--;
    });
    next(req, res);
  };

  const refuse = (req: IncomingMessage, res: ServerResponse, route: DoorRoute) => {
    const started = process.hrtime.bigint();
    const requestId = requestIdFor(req.headers['x-request-id'] as string | undefined);
    const refusal = new AppError('OVERLOADED', {
      detail: `${inFlight} accepts are in progress on this API process; retry later`,
      retryAfterSeconds: 1,
    });
    writeProblem(res, refusal, ['X-Request-Id', requestId, ...fixed]);
    deps.metrics.admissionRejections.inc({ queue: route.queue, reason: 'in_flight' });
    deps.observer.record({
      method: 'POST',
      route: route.path,
      status: 503,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      requestId,
    });
  };

  const isReplay = async (req: IncomingMessage, route: DoorRoute): Promise<boolean> => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return false;
    const userId = await deps.userOf(req.headers.authorization);
    return userId !== undefined && (await route.isKeyUsed(userId, key));
  };

  return (req, res) => {
    const route = req.method === 'POST' ? routes.get(pathOf(req.url)) : undefined;
    if (route === undefined) {
      next(req, res);
      return;
    }
    if (inFlight < deps.maxInFlight) {
      enter(req, res);
      return;
    }
    isReplay(req, route)
      .catch(() => false)
      .then((replay) => {
        if (replay) enter(req, res);
        else refuse(req, res, route);
      })
      .catch(() => undefined);
  };
}

const pathOf = (url: string | undefined): string => {
  const path = url ?? '';
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
};
