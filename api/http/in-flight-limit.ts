import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../../shared/errors';
import type { Metrics } from '../../shared/metrics';
import type { Edge } from './edge';
import { writeProblem } from './problem';

/** An accept endpoint as the limit sees it. */
export interface LimitedRoute {
  path: string;
  queue: string;
  /** Whether this user's key was used before: the request is a replay (or a key reuse). */
  isKeyUsed(userId: number, key: string): Promise<boolean>;
}

export interface InFlightLimitDeps {
  /** Accepts this process may have in progress at once (ADMISSION_MAX_IN_FLIGHT). */
  maxInFlight: number;
  routes: readonly LimitedRoute[];
  /** The user of an Authorization header, or undefined; never throws. */
  userOf(authorization: string | undefined): Promise<number | undefined>;
  edge: Edge;
  metrics: Metrics;
}

/**
 * The in-flight limit of admission control, at the front door. An accept (`POST /api/orders`,
 * `POST /api/charges`) counts from its arrival until its response is done; past the limit the
 * next is answered 503 OVERLOADED before its body is read or validated. By Little's law this
 * bounds the latency of admitted accepts (about limit ÷ throughput) however many connections
 * arrive; without it they all queue. A limit checked inside the route refused too late: each
 * refusal had cost most of an accept (load/REPORT.md, overload).
 *
 * A replay costs no capacity (the contract): past the limit, a request whose user's
 * Idempotency-Key was used before is let through to get its first answer; that check is one
 * Redis EXISTS. The backlog and event-loop checks are the endpoint's (`accept-endpoint.ts`),
 * where a client mistake still gets its 4xx first.
 */
export function inFlightLimit(deps: InFlightLimitDeps) {
  let inFlight = 0;
  const routes = new Map(deps.routes.map((route) => [route.path, route]));

  // A response closes once: one shared listener, no closure per accept.
  const leave = () => {
    inFlight--;
  };
  const enter = (res: ServerResponse, next: () => void) => {
    inFlight++;
    res.on('close', leave);
    next();
  };

  const refuse = (req: IncomingMessage, res: ServerResponse, route: LimitedRoute) => {
    deps.edge.begin(req, res, route.path);
    deps.metrics.admissionRejections.inc({ queue: route.queue, reason: 'in_flight' });
    writeProblem(
      req,
      res,
      new AppError('OVERLOADED', {
        detail: `${inFlight} accepts are in progress on this API process; retry later`,
        retryAfterSeconds: 1,
      }),
    );
  };

  const isReplay = async (req: IncomingMessage, route: LimitedRoute): Promise<boolean> => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return false;
    const userId = await deps.userOf(req.headers.authorization);
    return userId !== undefined && (await route.isKeyUsed(userId, key));
  };

  /** Passes the request on (`next`) unless it is an accept over the limit. */
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const route = req.method === 'POST' ? routes.get(pathOf(req.url)) : undefined;
    if (route === undefined) {
      next();
      return;
    }
    if (inFlight < deps.maxInFlight) {
      enter(res, next);
      return;
    }
    isReplay(req, route)
      .catch(() => false)
      .then((replay) => {
        if (replay) enter(res, next);
        else refuse(req, res, route);
      })
      .catch(() => undefined);
  };
}

/** The path of a request target, without its query. */
export function pathOf(url: string | undefined): string {
  const path = url ?? '';
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
}
