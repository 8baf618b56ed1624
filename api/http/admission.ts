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
