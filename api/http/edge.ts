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

const HEAD = Symbol('shop.head');
type Headed = ServerResponse & { [HEAD]?: { requestId: string; fixed: readonly string[] } };

/**
 * `writeHead` with the headers the edge gave a response that are still to send (when it was
 * begun outside Express; Express's responses have them set already), then `extra`: one flat
 * name, value list, built once.
 */
export function writeHeadWith(res: ServerResponse, status: number, extra: string[]): void {
  const head = (res as Headed)[HEAD];
  res.writeHead(status, head ? ['X-Request-Id', head.requestId, ...head.fixed, ...extra] : extra);
}

/**
 * Where every request begins, whichever door serves it (the fast lane or Express): its request
 * id (the client's `X-Request-Id` when sane, echoed back, and in every log line written while
 * serving it), the security headers, and its observation (metrics, access log) when the
 * response finishes. One implementation of each; the doors only attach the headers
 * differently: the lane hands them to the writers, which send them in one `writeHead` (Node's
 * cheapest way), while Express sets them on the response for whatever answers there.
 */
export function createEdge(deps: EdgeDeps) {
  const flat = new Map([deps.strict, deps.relaxed].map((set) => [set, [...set].flat()]));
  const headersFor = (path: string): HeaderSet =>
    deps.relaxedPrefixes.some((prefix) => path.startsWith(prefix)) ? deps.relaxed : deps.strict;

  const fixedOf = (headers: HeaderSet) => flat.get(headers) ?? [...headers].flat();

  /** Begins a request served outside Express; returns its id. */
  function begin(
    req: IncomingMessage,
    res: ServerResponse,
    route: string,
    headers: HeaderSet = deps.strict,
  ): string {
    const requestId = requestIdFor(req.headers['x-request-id']);
    (res as Headed)[HEAD] = { requestId, fixed: fixedOf(headers) };
    deps.observer.watch(req, res, requestId, route);
    return requestId;
  }

  /** Begins every request Express serves; the route is read when the response ends. */
  const middleware: RequestHandler = (req, res, next) => {
    const requestId = requestIdFor(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', requestId);
    res.setHeaders(headersFor(req.path) as Map<string, string>);
    deps.observer.watch(req, res, requestId, () => expressRoute(req));
    res.locals.requestId = requestId;
    withLogContext({ requestId }, next);
  };

  return { begin, middleware };
}

export type Edge = ReturnType<typeof createEdge>;
