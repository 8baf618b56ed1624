import type { RequestListener } from 'node:http';
import { AppError } from '../../shared/errors';
import type { Metrics } from '../../shared/metrics';
import { CHARGES_QUEUE } from '../../shared/queues/charges';
import { ORDERS_QUEUE } from '../../shared/queues/orders';
import type { RequestObserver } from './observe';
import { writeProblem } from './problem';
import { requestIdFor } from './request-id';
import type { HeaderSet } from './security-headers';

/** The accept endpoints and the queue each feeds. */
const ACCEPTS: ReadonlyMap<string, string> = new Map([
  ['/api/orders', ORDERS_QUEUE],
  ['/api/charges', CHARGES_QUEUE],
]);

export interface AcceptDoorDeps {
  /** Accepts this process may have in progress at once (ADMISSION_MAX_IN_FLIGHT). */
  maxInFlight: number;
  observer: RequestObserver;
  metrics: Metrics;
  headers: HeaderSet;
}

/**
 * The in-flight limit of admission control, at the front door. An accept (`POST /api/orders`,
 * `POST /api/charges`) counts from its arrival until its response is done; past the limit the
 * next is answered 503 OVERLOADED at once, before Express, authentication or validation spend
 * anything on it. By Little's law this bounds the latency of admitted accepts (about limit ÷
 * throughput) however many connections arrive; without it they all queue. A limit checked
 * inside the route refused too late — each refusal had cost most of an accept — and goodput
 * fell to a quarter of capacity (measured: `npm run load -- overload`, load/REPORT.md). The
 * backlog and event-loop checks stay in the route (`admission.ts`), where a client mistake
 * still gets its 4xx first.
 */
export function acceptDoor(deps: AcceptDoorDeps, next: RequestListener): RequestListener {
  let inFlight = 0;
  const fixed = [...deps.headers].flat();

  return (req, res) => {
    const path = req.method === 'POST' ? pathOf(req.url) : '';
    const queue = ACCEPTS.get(path);
    if (queue === undefined) {
      next(req, res);
      return;
    }
    if (inFlight < deps.maxInFlight) {
      inFlight++;
      res.once('close', () => {
        inFlight--;
      });
      next(req, res);
      return;
    }
    const started = process.hrtime.bigint();
    const requestId = requestIdFor(req.headers['x-request-id'] as string | undefined);
    const refusal = new AppError('OVERLOADED', {
      detail: `${inFlight} accepts are in progress on this API process; retry later`,
      retryAfterSeconds: 1,
    });
    writeProblem(res, refusal, ['X-Request-Id', requestId, ...fixed]);
    deps.metrics.admissionRejections.inc({ queue, reason: 'in_flight' });
    deps.observer.record({
      method: 'POST',
      route: path,
      status: 503,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      requestId,
    });
  };
}

const pathOf = (url: string | undefined): string => {
  const path = url ?? '';
  const query = path.indexOf('?');
  return query === -1 ? path : path.slice(0, query);
};
