import { randomUUID } from 'node:crypto';

const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `X-Request-Id` when it is sane, else a new one. */
export function requestIdFor(given: string | string[] | undefined): string {
  return typeof given === 'string' && ACCEPTABLE.test(given) ? given : randomUUID();
}

/** The request id the edge gave an Express request (`edge.ts`). */
export function requestIdOf(locals: Record<string, unknown>): string {
  return typeof locals.requestId === 'string' ? locals.requestId : 'unknown';
}
