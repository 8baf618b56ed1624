import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { withLogContext } from '../../shared/logger';
import { expressRoute, type RequestObserver } from './observe';
import { requestIdFor } from './request-id';
import type { HeaderSet } from './security-headers';

export interface EdgeDeps {
  observer: RequestObserver;
  /** Helmet's headers for API responses. */
  strict: HeaderSet;
  /** The same without a Content-Security-Policy, for pages with inline scripts. */
  relaxed: HeaderSet;
  /** Paths under these prefixes get the relaxed headers (Swagger UI, Bull Board). */
  relaxedPrefixes: readonly string[];
}

/**
 * Where every request begins, whichever path serves it (the fast lane or Express): its request
 * id (the client's `X-Request-Id` when sane, echoed back, and in every log line written while
 * serving it), the security headers, and its observation (metrics, access log) when the
 * response finishes. One implementation of each; the two paths only call it differently.
 */
export function createEdge(deps: EdgeDeps) {
  const headersFor = (path: string): HeaderSet =>
    deps.relaxedPrefixes.some((prefix) => path.startsWith(prefix)) ? deps.relaxed : deps.strict;

  /** Begins a request: returns its id once its headers are set and its observation runs. */
  function begin(
    req: IncomingMessage,
    res: ServerResponse,
    route: string | (() => string),
    headers: HeaderSet = deps.strict,
  ): string {
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', requestId);
    res.setHeaders(headers as Map<string, string>);
    deps.observer.watch(req, res, requestId, route);
    return requestId;
  }

  /** {@link begin} as Express's first middleware; the route is read when the response ends. */
  const middleware: RequestHandler = (req, res, next) => {
    const requestId = begin(req, res, () => expressRoute(req), headersFor(req.path));
    res.locals.requestId = requestId;
    withLogContext({ requestId }, next);
  };

  return { begin, middleware };
}

export type Edge = ReturnType<typeof createEdge>;
