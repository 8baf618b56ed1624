import type { RequestHandler } from 'express';
import type { Logger } from '../../shared/logger';
import type { Metrics } from '../../shared/metrics';
import { createAccessLog } from './access-log';
import { requestIdOf } from './request-id';

/**
 * Per request, once it finishes: the duration histogram by route template (never the raw
 * path, which would explode the label set) and, at LOG_LEVEL=http or finer, one access-log
 * line. Never bodies or headers.
 */
export function observeRequests(logger: Logger, metrics: Metrics): RequestHandler {
  const accessLog = logger.isLevelEnabled('http') ? createAccessLog('api') : undefined;
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const path = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof path === 'string' ? req.baseUrl + path : 'unmatched';
      metrics.httpDuration.observe(
        { method: req.method, route, status: String(res.statusCode) },
        seconds,
      );
      accessLog?.log({
        requestId: requestIdOf(res.locals),
        method: req.method,
        route,
        status: res.statusCode,
        ms: seconds * 1e3,
      });
    });
    next();
  };
}
