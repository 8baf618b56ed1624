import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { withLogContext } from '../../shared/logger';

const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes `X-Request-Id` from the request when it is sane, else makes one; echoes it back. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const id = requestIdFor(req.get('x-request-id'));
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    withLogContext({ requestId: id }, next);
  };
}

/** The client's `X-Request-Id` when it is sane, else a new one. */
export function requestIdFor(given: string | undefined): string {
  return given !== undefined && ACCEPTABLE.test(given) ? given : randomUUID();
}

export function requestIdOf(locals: Record<string, unknown>): string {
  return typeof locals.requestId === 'string' ? locals.requestId : 'unknown';
}
