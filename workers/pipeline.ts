import { UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { z } from 'zod';
import { isDatabaseUnavailable } from '../shared/infra-errors';
import { withLogContext, type Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { isBreakerOpen, type DbBreaker } from '../shared/resilience/breaker';
import type { TrackedKind, TrackingStore } from '../shared/tracking/store';
import type { UnappliedStatus } from '../shared/views';

/** How one queue's jobs are applied; the processor around it is the same for every queue. */
export interface PipelineStep<J, V extends { status: string; createdAt: string }> {
  kind: TrackedKind;
  schema: z.ZodType<J>;
  idOf(job: J): string;
  /** The view shown while the job is not applied (PENDING, PROCESSING, ON_HOLD). */
  unappliedView(job: J, status: UnappliedStatus): V;
  /** Applies the job exactly once and returns its final view (business failures included). */
  apply(job: J): Promise<V>;
  /** Best-effort record of ON_HOLD in the database, for operators reading SQL. */
  recordOnHold(job: J): Promise<void>;
}

export interface PipelineDeps {
  tracking: TrackingStore;
  logger: Logger;
  /** Around each job's unit of work: an open breaker means the database is down. */
  breaker: DbBreaker;
  /** Stops the whole queue handing out jobs for `ms` (BullMQ's queue-wide rate limit). */
  pauseQueue(ms: number): Promise<void>;
  metrics: Metrics;
}

/** While the database is down but the breaker is still closed, wait this long between tries. */
const OUTAGE_PAUSE_MS = 1_000;

/** Has this failed attempt used up the job's attempts? */
export function isLastAttempt(job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The BullMQ processor for a pipeline step: validates the payload again, shows PROCESSING,
 * applies through the database breaker, publishes the final view.
 *
 * - Database down (breaker open, or the connection failing): the job goes back to waiting
 *   with its attempts untouched and the queue pauses — an outage never puts work ON_HOLD.
 * - Any other infrastructure error propagates, so BullMQ retries with backoff; on the last
 *   attempt the request goes ON_HOLD for an operator instead of FAILED.
 */
export function pipelineProcessor<J, V extends { status: string; createdAt: string }>(
  step: PipelineStep<J, V>,
  deps: PipelineDeps,
): Processor {
  return async (job: Job) => {
    const parsed = step.schema.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error('invalid job payload', {
        queue: job.queueName,
        jobId: job.id,
        issues: parsed.error.issues,
      });
      throw new UnrecoverableError('invalid job payload');
    }
    const data = parsed.data;
    const id = step.idOf(data);
    const requestId = (job.data as { requestId?: string }).requestId;
    const context = {
      jobId: job.id ?? id,
      queue: job.queueName,
      ...(requestId ? { requestId } : {}),
    };
    return withLogContext(context, async () => {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1_000;
      await deps.tracking.transition(
        step.kind,
        id,
        'PROCESSING',
        step.unappliedView(data, 'PROCESSING'),
      );
      let view: V;
      try {
        view = await deps.breaker.run(() => step.apply(data));
      } catch (error) {
        if (isBreakerOpen(error) || isDatabaseUnavailable(error)) {
          await deps.tracking.transition(
            step.kind,
            id,
            'PENDING',
            step.unappliedView(data, 'PENDING'),
          );
          await deps.pauseQueue(
            isBreakerOpen(error) ? deps.breaker.settings.resetMs : OUTAGE_PAUSE_MS,
          );
          deps.logger.warn(`${step.kind} deferred: database unavailable`, {
            breaker: deps.breaker.state,
            error: messageOf(error),
          });
          deps.metrics.jobsDeferred.inc({ queue: job.queueName });
          deps.metrics.jobDuration.observe(
            { queue: job.queueName, outcome: 'deferred' },
            seconds(),
          );
          throw Worker.RateLimitError();
        }
        const last = isLastAttempt(job);
        deps.logger.warn(`${step.kind} attempt failed`, {
          attempt: job.attemptsMade + 1,
          last,
          error: messageOf(error),
        });
        deps.metrics.jobDuration.observe({ queue: job.queueName, outcome: 'error' }, seconds());
        if (last) await putOnHold(step, deps, job.queueName, data);
        throw error;
      }
      await deps.tracking.publishFinal(step.kind, id, view.status, view);
      const failureCode = (view as { failureCode?: string | null }).failureCode ?? null;
      const queue = job.queueName;
      deps.metrics.jobDuration.observe({ queue, outcome: view.status }, seconds());
      deps.metrics.acceptToFinal.observe(
        { queue, status: view.status },
        Math.max(0, (Date.now() - Date.parse(view.createdAt)) / 1_000),
      );
      deps.metrics.jobsFinished.inc({
        queue,
        status: view.status,
        failure_code: failureCode ?? '',
      });
      deps.logger.info(`${step.kind} processed`, {
        status: view.status,
        failureCode,
        ms: Math.round(performance.now() - started),
        attempt: job.attemptsMade + 1,
      });
      return { status: view.status };
    });
  };
}

/** Marks a request ON_HOLD: its status for clients, and a database row when the DB answers. */
export async function putOnHold<J, V extends { status: string; createdAt: string }>(
  step: PipelineStep<J, V>,
  deps: Pick<PipelineDeps, 'tracking' | 'logger' | 'metrics'>,
  queue: string,
  data: J,
): Promise<void> {
  const id = step.idOf(data);
  await deps.tracking
    .transition(step.kind, id, 'ON_HOLD', step.unappliedView(data, 'ON_HOLD'))
    .catch((error: unknown) => {
      deps.logger.error('could not record ON_HOLD status', { id, error: String(error) });
    });
  await step.recordOnHold(data).catch((error: unknown) => {
    deps.logger.warn('could not record ON_HOLD row', { id, error: String(error) });
  });
  deps.metrics.jobsOnHold.inc({ queue });
  deps.logger.error(`${step.kind} put ON_HOLD: an operator must replay it`, { id });
}
