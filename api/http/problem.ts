import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { AppError, serviceUnavailable } from '../../shared/errors';
import { isDatabaseUnavailable, isRedisUnavailable } from '../../shared/infra-errors';
import { isBreakerOpen } from '../../shared/resilience/breaker';
import type { Logger } from '../../shared/logger';

/** An AppError as the application/problem+json body. */
export function problemJson(error: AppError): string {
  return JSON.stringify({
    type: 'about:blank',
    title: error.title,
    status: error.httpStatus,
    code: error.code,
    detail: error.detail ?? error.title,
    ...(error.errors ? { errors: error.errors } : {}),
  });
}

/**
 * Writes an AppError as application/problem+json from Express. The paths in front of Express
 * (`accept-door.ts`, `fast-accepts.ts`) write the same with {@link writeProblem}.
 */
export function sendProblem(res: Response, error: AppError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  if (error.retryAfterSeconds !== undefined) {
    res.setHeader('Retry-After', String(error.retryAfterSeconds));
  }
  res.status(error.httpStatus).type('application/problem+json').send(problemJson(error));
}

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(new AppError('NOT_FOUND', { detail: `No route for ${req.method} ${req.path}` }));
  };
}

interface HttpishError {
  type?: unknown;
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
}

/** Errors raised by body-parser and Express itself carry a `type` and a 4xx `status`. */
function fromHttpError(error: HttpishError): AppError | undefined {
  if (isBreakerOpen(error)) {
    return new AppError('SERVICE_UNAVAILABLE', {
      detail: 'The database is unavailable (circuit open)',
      retryAfterSeconds: 2,
      cause: error,
    });
  }
  if (isDatabaseUnavailable(error)) return serviceUnavailable('The database is unavailable', error);
  if (isRedisUnavailable(error)) return serviceUnavailable('Redis is unavailable', error);
  switch (error.type) {
    case 'entity.parse.failed':
      return new AppError('INVALID_JSON');
    case 'entity.too.large':
      return new AppError('PAYLOAD_TOO_LARGE', { detail: 'The request body is over 16 KiB' });
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new AppError('UNSUPPORTED_MEDIA_TYPE', {
        detail: 'The body must be UTF-8 application/json without content encoding',
      });
    default:
      break;
  }
  const status = Number(error.status ?? error.statusCode);
  if (status >= 400 && status < 500) {
    return new AppError('VALIDATION_FAILED', {
      detail: 'The request could not be read',
      errors: [],
    });
  }
  return undefined;
}

/**
 * The AppError an error is answered with: itself, the 4xx/503 a known failure maps to, or 500
 * INTERNAL. Server-side failures are logged here, client mistakes are not.
 */
export function problemFor(
  error: unknown,
  logger: Logger,
  where: { method: string; path: string },
): AppError {
  const known =
    error instanceof AppError
      ? error
      : typeof error === 'object' && error !== null
        ? fromHttpError(error)
        : undefined;
  if (known) {
    if (known.httpStatus >= 500) {
      logger.warn('request failed', { code: known.code, path: where.path, detail: known.detail });
    }
    return known;
  }
  logger.error('unhandled error', {
    method: where.method,
    path: where.path,
    error: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
  });
  return new AppError('INTERNAL');
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const problem = problemFor(error, logger, req);
    if (!res.headersSent) sendProblem(res, problem);
  };
}

/**
 * {@link sendProblem} on a bare `node:http` response. `head` holds the headers every response
 * carries (request id, security headers) as a flat name, value list.
 */
export function writeProblem(res: ServerResponse, error: AppError, head: readonly string[]): void {
  const body = problemJson(error);
  const headers = [...head, 'Content-Type', 'application/problem+json; charset=utf-8'];
  for (const [name, value] of Object.entries(error.headers)) headers.push(name, value);
  if (error.retryAfterSeconds !== undefined) {
    headers.push('Retry-After', String(error.retryAfterSeconds));
  }
  headers.push('Content-Length', String(Buffer.byteLength(body)));
  res.writeHead(error.httpStatus, headers);
  res.end(body);
}
