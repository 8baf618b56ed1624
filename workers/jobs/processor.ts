import { UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { z } from 'zod';
import { isDatabaseUnavailable, messageOf } from '../../shared/infra-errors';
import { withLogContext, type Logger } from '../../shared/logger';
import type { Metrics } from '../../shared/metrics';
import { isBreakerOpen, type DbBreaker } from '../../shared/resilience/breaker';
import { requestsParser } from '../../shared/queues/batch';
import type { PartRecords, RequestKind, StatusUpdate } from '../../shared/requests/records';
import type { UnappliedStatus } from '../../shared/views';
import { putOnHold } from './on-hold';

/** What every request's view has: whose request it is, where it stands, since when. */
export interface RequestView {
  userId: number;
  status: string;
  createdAt: string;
}

/**
 * What one queue's jobs carry and how each of their requests is applied
 * (`charges/charge-jobs.ts`, `orders/order-jobs.ts`); the processor around it is the same
 * for every queue.
 */
export interface QueueJobs<J, V extends RequestView> {
  kind: RequestKind;
  /** One request as a job carries it (alone, or in a batch: `shared/queues/batch.ts`). */
  schema: z.ZodType<J>;
  idOf(request: J): string;
  /** The view shown while the request is not applied (PENDING, PROCESSING, ON_HOLD). */
  unappliedView(request: J, status: UnappliedStatus): V;
  /** Applies the request exactly once and returns its final view (business failures included). */
  apply(request: J): Promise<V>;
  /**
   * Another request a final view settles, in the same partition (a cancellation settles its
   * order): its final view is published right after this request's.
   */
  settles?(view: V): ({ kind: RequestKind } & StatusUpdate) | null;
  /** Best-effort record of ON_HOLD in the database, for operators reading SQL. */
  recordOnHold(request: J): Promise<void>;
}

export interface ProcessorDeps {
  /** The records of the partition whose queue this processor serves. */
  records: PartRecords;
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

/**
 * The BullMQ processor of the request queues (charges, orders, cancellations). A job carries one
 * request or a batch of them
 * (`shared/queues/batch.ts`); each request is validated again, shown PROCESSING, applied, and
 * its final view published — the status writes of a job's requests go to Redis in one script
 * each way. Requests of one job are applied concurrently (orders join the same group commit),
 * together as one call through the database breaker ({@link applyJob}), and each succeeds or
 * fails on its own.
 *
 * - Database down (breaker open, or the connection failing) for any request: the job goes back
 *   to waiting with its attempts untouched and the queue pauses — an outage never puts work
 *   ON_HOLD. Requests of the job that were applied meanwhile stay final; applying them again
 *   when the job returns is a no-op.
 * - Any other infrastructure error propagates, so BullMQ retries the job with backoff; on the
 *   last attempt its unapplied requests go ON_HOLD for an operator instead of FAILED.
 */
export function jobProcessor<J, V extends RequestView>(
  queueJobs: QueueJobs<J, V>,
  deps: ProcessorDeps,
): Processor {
  const requestsOf = requestsParser(queueJobs.schema);
  return async (job: Job) => {
    const requests = requestsOf(job.data);
    if (!requests) {
      deps.logger.error('invalid job payload', { queue: job.queueName, jobId: job.id });
      throw new UnrecoverableError('invalid job payload');
    }
    const queue = job.queueName;
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1_000;
    const contextOf = (request: J) => {
      const requestId = (request as { requestId?: string }).requestId;
      return {
        jobId: job.id ?? queueJobs.idOf(request),
        queue,
        ...(requestId ? { requestId } : {}),
      };
    };
    const statuses = (list: J[], status: UnappliedStatus) =>
      list.map((r) => {
        const view = queueJobs.unappliedView(r, status);
        return {
          id: queueJobs.idOf(r),
          userId: view.userId,
          acceptedAt: view.createdAt,
          status,
          view,
        };
      });

    await deps.records.transitionMany(queueJobs.kind, statuses(requests, 'PROCESSING'));
    const outcomes = await applyJob(
      requests,
      (r) => withLogContext(contextOf(r), () => queueJobs.apply(r)),
      deps.breaker,
    );
    const applied: { request: J; view: V }[] = [];
    const unapplied: { request: J; error: unknown }[] = [];
    outcomes.forEach((outcome, i) => {
      const request = requests[i] as J;
      if (outcome.status === 'fulfilled') applied.push({ request, view: outcome.value });
      else unapplied.push({ request, error: outcome.reason });
    });

    await deps.records.publishFinalMany(
      queueJobs.kind,
      applied.map(({ request, view }) => ({
        id: queueJobs.idOf(request),
        userId: view.userId,
        acceptedAt: view.createdAt,
        status: view.status,
        view,
      })),
    );
    const settled = applied.flatMap(({ view }) => queueJobs.settles?.(view) ?? []);
    for (const update of settled) await deps.records.publishFinalMany(update.kind, [update]);
    for (const { request, view } of applied) {
      const failureCode = (view as { failureCode?: string | null }).failureCode ?? null;
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
      withLogContext(contextOf(request), () => {
        deps.logger.info(`${queueJobs.kind} processed`, {
          status: view.status,
          failureCode,
          ms: Math.round(performance.now() - started),
          attempt: job.attemptsMade + 1,
        });
      });
    }
    const [first] = unapplied;
    if (!first) {
      const [only] = applied;
      return requests.length === 1 && only
        ? { status: only.view.status }
        : { statuses: applied.map(({ view }) => view.status) };
    }

    const outage = unapplied.find(
      ({ error }) => isBreakerOpen(error) || isDatabaseUnavailable(error),
    );
    if (outage) {
      await deps.records.transitionMany(
        queueJobs.kind,
        statuses(
          unapplied.map((u) => u.request),
          'PENDING',
        ),
      );
      await deps.pauseQueue(
        isBreakerOpen(outage.error) ? deps.breaker.settings.resetMs : OUTAGE_PAUSE_MS,
      );
      deps.logger.warn(`${queueJobs.kind} deferred: database unavailable`, {
        jobId: job.id,
        requests: unapplied.length,
        breaker: deps.breaker.state,
        error: messageOf(outage.error),
      });
      deps.metrics.jobsDeferred.inc({ queue }, unapplied.length);
      for (let i = 0; i < unapplied.length; i++) {
        deps.metrics.jobDuration.observe({ queue, outcome: 'deferred' }, seconds());
      }
      throw Worker.RateLimitError();
    }
    const last = isLastAttempt(job);
    for (const { request, error } of unapplied) {
      withLogContext(contextOf(request), () => {
        deps.logger.warn(`${queueJobs.kind} attempt failed`, {
          attempt: job.attemptsMade + 1,
          last,
          error: messageOf(error),
        });
      });
      deps.metrics.jobDuration.observe({ queue, outcome: 'error' }, seconds());
      if (last) await putOnHold(queueJobs, deps, queue, request);
    }
    throw first.error;
  };
}

/**
 * Applies the requests of one job concurrently, as ONE call through the breaker: the job is the
 * unit of work the breaker counts and times (`DB_BREAKER_TIMEOUT_MS` bounds the whole job), so
 * an outage that fails a batch of 64 requests counts one failure, not 64. The call fails when
 * any request met an outage; every request still gets its own outcome. Requests not settled
 * when the call ends (refused by an open breaker, or still running at the timeout) take the
 * call's error; one that finishes later is applied, and applying it again is a no-op.
 */
export async function applyJob<J, V>(
  requests: readonly J[],
  apply: (request: J) => Promise<V>,
  breaker: DbBreaker,
): Promise<PromiseSettledResult<V>[]> {
  const settled: (PromiseSettledResult<V> | undefined)[] = requests.map(() => undefined);
  try {
    await breaker.run(async () => {
      await Promise.all(
        requests.map((request, i) =>
          apply(request).then(
            (value) => {
              settled[i] = { status: 'fulfilled', value };
            },
            (reason: unknown) => {
              settled[i] = { status: 'rejected', reason };
            },
          ),
        ),
      );
      const outage = settled.find(
        (o) => o?.status === 'rejected' && isDatabaseUnavailable(o.reason),
      );
      if (outage?.status === 'rejected') throw outage.reason;
    });
  } catch (error) {
    return settled.map((o) => o ?? { status: 'rejected', reason: error });
  }
  return settled.map((o) => o ?? { status: 'rejected', reason: new Error('not applied') });
}
