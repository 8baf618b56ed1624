import { AppError } from '../../shared/errors';
import type { Metrics } from '../../shared/metrics';
import type { Admission } from '../../shared/resilience/admission';

/** Throws 503 OVERLOADED (with Retry-After) while admission control refuses work for `queue`. */
export function admit(admission: Admission, queue: string, metrics: Metrics): void {
  const refusal = admission.check(queue);
  if (!refusal) return;
  metrics.admissionRejections.inc({ queue, reason: refusal.reason });
  throw new AppError('OVERLOADED', {
    detail: refusal.detail,
    retryAfterSeconds: refusal.retryAfterSeconds,
  });
}
