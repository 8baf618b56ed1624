import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet, { type HelmetOptions } from 'helmet';

export type HeaderSet = ReadonlyMap<string, string>;

/**
 * Helmet's response headers, computed once. With these options they are the same for every
 * response (no nonces), so running helmet's thirteen setters per request bought nothing: the
 * edge (`edge.ts`) sends this one set on every path.
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
