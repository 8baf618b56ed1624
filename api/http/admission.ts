import { AppError } from '../../shared/errors';
import type { Metrics } from '../../shared/metrics';
import type { Refusal } from '../../shared/resilience/admission';

/** The 503 OVERLOADED (with Retry-After) of a request admission control refused, counted. */
export function refused(refusal: Refusal, queue: string, metrics: Metrics): AppError {
  metrics.admissionRejections.inc({ queue, reason: refusal.reason });
  return new AppError('OVERLOADED', {
    detail: refusal.detail,
    retryAfterSeconds: refusal.retryAfterSeconds,
  });
}

/** The 429 RATE_LIMITED (with Retry-After) of a user past RATE_LIMIT_PER_MINUTE, counted. */
export function rateLimited(retryAfterSeconds: number, queue: string, metrics: Metrics): AppError {
  metrics.rateLimitRefusals.inc({ queue });
  return new AppError('RATE_LIMITED', {
    detail: `Too many requests in the last minute; retry in ${retryAfterSeconds} s`,
    retryAfterSeconds,
  });
}
