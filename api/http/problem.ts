import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, serviceUnavailable } from '../../shared/errors';
import { isDatabaseUnavailable, isRedisUnavailable } from '../../shared/infra-errors';
import { isBreakerOpen } from '../../shared/resilience/breaker';
import type { Logger } from '../../shared/logger';
import { writeBody } from './respond';

const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

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

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => {
    next(new AppError('NOT_FOUND', { detail: `No route for ${req.method} ${req.path}` }));
  };
}

interface HttpishError {
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
}

/**
 * The answer to a failure that is not an AppError: the database or Redis unavailable (or the
 * breaker open) → 503, an error Express raised with a 4xx `status` (a path it could not
 * decode) → 400. Undefined for anything else: a bug.
 */
function knownFailure(error: HttpishError): AppError | undefined {
  if (isBreakerOpen(error)) {
    return new AppError('SERVICE_UNAVAILABLE', {
      detail: 'The database is unavailable (circuit open)',
      retryAfterSeconds: 2,
      cause: error,
    });
  }
  if (isDatabaseUnavailable(error)) return serviceUnavailable('The database is unavailable', error);
  if (isRedisUnavailable(error)) return serviceUnavailable('Redis is unavailable', error);
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
        ? knownFailure(error)
        : undefined;
  if (known) {
    if (known.httpStatus >= 500) {
      // The underlying error's message says which dependency failed and how (timeout, refused).
      const cause = known.cause instanceof Error ? { cause: known.cause.message } : {};
      logger.warn('request failed', {
        code: known.code,
        path: where.path,
        detail: known.detail,
        ...cause,
      });
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
    if (!res.headersSent) writeProblem(req, res, problem);
  };
}

/**
 * Writes an AppError as application/problem+json (its headers and Retry-After included), after
 * whatever headers the edge set. The one writer of problems, on whichever path served the
 * request.
 */
export function writeProblem(req: IncomingMessage, res: ServerResponse, error: AppError): void {
  const extra = Object.entries(error.headers).flat();
  if (error.retryAfterSeconds !== undefined) {
    extra.push('Retry-After', String(error.retryAfterSeconds));
  }
  writeBody(req, res, error.httpStatus, PROBLEM_TYPE, problemJson(error), extra);
}
