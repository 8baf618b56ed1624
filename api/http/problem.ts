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
 * Writes an AppError as application/problem+json. The one place errors become responses, but
 * for the front door's in-flight refusal (`accept-door.ts`), which sends a body made here too.
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

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const known =
      error instanceof AppError
        ? error
        : typeof error === 'object' && error !== null
          ? fromHttpError(error)
          : undefined;
    if (known) {
      if (known.httpStatus >= 500) {
        logger.warn('request failed', { code: known.code, path: req.path, detail: known.detail });
      }
      if (!res.headersSent) sendProblem(res, known);
      return;
    }
    logger.error('unhandled error', {
      method: req.method,
      path: req.path,
      error:
        error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
    });
    if (!res.headersSent) sendProblem(res, new AppError('INTERNAL'));
  };
}
