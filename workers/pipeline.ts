import { UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { z } from 'zod';
import { isDatabaseUnavailable } from '../shared/infra-errors';
import { withLogContext, type Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { isBreakerOpen, type DbBreaker } from '../shared/resilience/breaker';
import { requestsParser } from '../shared/queues/batch';
import type { RequestKind, RequestRecords } from '../shared/requests/records';
import type { UnappliedStatus } from '../shared/views';

/** What a step's views have in common: whose request it is, where it stands, since when. */
export interface StepView {
  userId: number;
  status: string;
  createdAt: string;
}

/** How one queue's jobs are applied; the processor around it is the same for every queue. */
export interface PipelineStep<J, V extends StepView> {
  kind: RequestKind;
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
  records: RequestRecords;
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
 * The BullMQ processor for a pipeline step. A job carries one request or a batch of them
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
export function pipelineProcessor<J, V extends StepView>(
  step: PipelineStep<J, V>,
  deps: PipelineDeps,
): Processor {
  const requestsOf = requestsParser(step.schema);
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
        jobId: job.id ?? step.idOf(request),
        queue,
        ...(requestId ? { requestId } : {}),
      };
    };
    const statuses = (list: J[], status: UnappliedStatus) =>
      list.map((r) => {
        const view = step.unappliedView(r, status);
        return { id: step.idOf(r), userId: view.userId, acceptedAt: view.createdAt, status, view };
      });

    await deps.records.transitionMany(step.kind, statuses(requests, 'PROCESSING'));
    const outcomes = await applyJob(
      requests,
      (r) => withLogContext(contextOf(r), () => step.apply(r)),
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
      step.kind,
      applied.map(({ request, view }) => ({
        id: step.idOf(request),
        userId: view.userId,
        acceptedAt: view.createdAt,
        status: view.status,
        view,
      })),
    );
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
        deps.logger.info(`${step.kind} processed`, {
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
        step.kind,
        statuses(
          unapplied.map((u) => u.request),
          'PENDING',
        ),
      );
      await deps.pauseQueue(
        isBreakerOpen(outage.error) ? deps.breaker.settings.resetMs : OUTAGE_PAUSE_MS,
      );
      deps.logger.warn(`${step.kind} deferred: database unavailable`, {
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
        deps.logger.warn(`${step.kind} attempt failed`, {
          attempt: job.attemptsMade + 1,
          last,
          error: messageOf(error),
        });
      });
      deps.metrics.jobDuration.observe({ queue, outcome: 'error' }, seconds());
      if (last) await putOnHold(step, deps, queue, request);
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

/** Marks a request ON_HOLD: its status for clients, and a database row when the DB answers. */
export async function putOnHold<J, V extends StepView>(
  step: PipelineStep<J, V>,
  deps: Pick<PipelineDeps, 'records' | 'logger' | 'metrics'>,
  queue: string,
  data: J,
): Promise<void> {
  const id = step.idOf(data);
  const view = step.unappliedView(data, 'ON_HOLD');
  await deps.records
    .transition(step.kind, {
      id,
      userId: view.userId,
      acceptedAt: view.createdAt,
      status: 'ON_HOLD',
      view,
    })
    .catch((error: unknown) => {
      deps.logger.error('could not record ON_HOLD status', { id, error: String(error) });
    });
  await step.recordOnHold(data).catch((error: unknown) => {
    deps.logger.warn('could not record ON_HOLD row', { id, error: String(error) });
  });
  deps.metrics.jobsOnHold.inc({ queue });
  deps.logger.error(`${step.kind} put ON_HOLD: an operator must replay it`, { id });
}
