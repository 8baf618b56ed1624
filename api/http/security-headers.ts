import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

export type HeaderSet = ReadonlyMap<string, string>;

/**
 * Helmet's response headers, computed once. With these options they are the same for every
 * response (no nonces), so running helmet's thirteen setters per request bought nothing; the
 * hot read path (`fast-reads.ts`) and the Express routes send this one set.
 */
export function securityHeaders(options?: Readonly<HelmetOptions>): HeaderSet {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers.set(name, String(value));
    },
    removeHeader(name: string) {
      headers.delete(name);
    },
  };
  // Helmet's middleware is synchronous: the headers are all set when this returns.
  helmet(options)(
    {} as IncomingMessage,
    recorder as unknown as ServerResponse,
    (error?: unknown) => {
      if (error !== undefined) throw new Error("helmet's middleware failed", { cause: error });
    },
  );
  return headers;
}

/** Express middleware sending a precomputed header set. */
export function sendHeaders(headers: HeaderSet): RequestHandler {
  return (_req, res, next) => {
    res.setHeaders(headers as Map<string, string>);
    next();
  };
}
