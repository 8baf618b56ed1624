import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import type { Logger } from '../../shared/logger';
import type { Metrics } from '../../shared/metrics';
import { createAccessLog } from './access-log';

/**
 * What is recorded of every finished request: the duration histogram by route template and,
 * at LOG_LEVEL=http or finer, one access-log line. Never bodies or headers. One observer per
 * server, whichever path serves the request; it owns the access log's timer: `stop()` it.
 */
export function createRequestObserver(logger: Logger, metrics: Metrics) {
  const accessLog = logger.isLevelEnabled('http') ? createAccessLog('api') : undefined;

  // One listener for every response, reading what `watch` left on it: no closure per request.
  function onFinish(this: Watched): void {
    const watched = this[WATCH];
    if (watched === undefined) return;
    const { req, requestId, route, started } = watched;
    const template = typeof route === 'string' ? route : route();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const method = req.method ?? '';
    const status = this.statusCode;
    metrics.httpDuration.observe({ method, route: template, status: String(status) }, seconds);
    accessLog?.log({ requestId, method, route: template, status, ms: seconds * 1e3 });
  }

  /**
   * Records the request when its response has finished. `route` is the route template (never
   * the raw path, which would explode the label set), or a function reading it at the end.
   */
  function watch(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    route: string | (() => string),
  ): void {
    (res as Watched)[WATCH] = { req, requestId, route, started: process.hrtime.bigint() };
    res.on('finish', onFinish);
  }

  return {
    watch,
    stop(): void {
      accessLog?.stop();
    },
  };
}

const WATCH = Symbol('shop.watch');
type Watched = ServerResponse & {
  [WATCH]?: {
    req: IncomingMessage;
    requestId: string;
    route: string | (() => string);
    started: bigint;
  };
};

/** The route template Express matched (`/api/orders/:orderId`), or `unmatched`. */
export function expressRoute(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? req.baseUrl + path : 'unmatched';
}

export type RequestObserver = ReturnType<typeof createRequestObserver>;
