import type { RequestHandler } from 'express';
import type { Logger } from '../../shared/logger';
import type { Metrics } from '../../shared/metrics';
import { createAccessLog } from './access-log';
import { requestIdOf } from './request-id';

export interface Finished {
  method: string;
  /** The route template (never the raw path, which would explode the label set). */
  route: string;
  status: number;
  seconds: number;
  requestId: string;
}

/**
 * What is recorded of every finished request: the duration histogram by route template and,
 * at LOG_LEVEL=http or finer, one access-log line. Never bodies or headers. One observer per
 * server, shared by the Express routes and the hot read path.
 */
export function createRequestObserver(logger: Logger, metrics: Metrics) {
  const accessLog = logger.isLevelEnabled('http') ? createAccessLog('api') : undefined;

  function record({ method, route, status, seconds, requestId }: Finished): void {
    metrics.httpDuration.observe({ method, route, status: String(status) }, seconds);
    accessLog?.log({ requestId, method, route, status, ms: seconds * 1e3 });
  }

  /** Express middleware: records each request when its response finishes. */
  const middleware: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const path = (req.route as { path?: unknown } | undefined)?.path;
      record({
        method: req.method,
        route: typeof path === 'string' ? req.baseUrl + path : 'unmatched',
        status: res.statusCode,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        requestId: requestIdOf(res.locals),
      });
    });
    next();
  };

  return { record, middleware };
}

export type RequestObserver = ReturnType<typeof createRequestObserver>;
