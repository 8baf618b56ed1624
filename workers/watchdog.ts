import type { Queue, Worker } from 'bullmq';
import type { Logger } from '../shared/logger';
import { earliestDelayedDue } from '../shared/queues/delayed';

export interface WatchdogOptions {
  /** Builds a fresh worker (same queue, processor and options). */
  create(): Worker;
  /** The same queue, for counts and the rate-limit state. */
  queue: Queue;
  logger: Logger;
  /** True while idling is expected (e.g. the database breaker is not closed). */
  idleExpected(): boolean;
  intervalMs?: number;
  /** Consecutive idle checks with work waiting before the worker is rebuilt. */
  strikes?: number;
}

export interface WatchedWorker {
  current(): Worker;
  close(): Promise<void>;
}

/**
 * Rebuilds a worker that silently stopped taking jobs. After a Redis outage BullMQ's blocking
 * connection can stay "reconnecting" forever while everything else recovers (taskforcesh/bullmq
 * #4585 and relatives): the worker looks alive, jobs pile up. The symptom is checked, not the
 * cause: jobs waiting, the queue neither paused nor rate-limited, and this worker starting none
 * for several checks in a row. Delayed jobs (retries after a backoff) that fell due more than a
 * check ago count as waiting work too: only a working worker moves them to the wait list, so a
 * stuck one with nothing but retries left would otherwise never look stuck.
 */
export function watchWorker(options: WatchdogOptions): WatchedWorker {
  const intervalMs = options.intervalMs ?? 5_000;
  const strikesToRebuild = options.strikes ?? 3;
  let started = 0;
  let seen = 0;
  let strikes = 0;
  let closing = false;

  const attach = (worker: Worker) => {
    worker.on('active', () => {
      started++;
    });
    return worker;
  };
  let worker = attach(options.create());

  const check = async () => {
    const [counts, due, rateLimitTtl, paused] = await Promise.all([
      options.queue.getJobCounts('wait', 'prioritized'),
      earliestDelayedDue(options.queue),
      options.queue.getRateLimitTtl(),
      options.queue.isPaused(),
    ]);
    const waiting = (counts.wait ?? 0) + (counts.prioritized ?? 0);
    const overdue = due !== null && due < Date.now() - intervalMs;
    const idle = started === seen;
    seen = started;
    const suspicious =
      (waiting > 0 || overdue) && idle && !paused && rateLimitTtl <= 0 && !options.idleExpected();
    strikes = suspicious ? strikes + 1 : 0;
    if (strikes < strikesToRebuild || closing) return;
    strikes = 0;
    options.logger.error('worker stuck with jobs waiting: rebuilding it', {
      queue: options.queue.name,
      waiting,
      overdueDelayed: overdue,
    });
    const stuck = worker;
    worker = attach(options.create());
    await stuck.close(true).catch(() => undefined);
  };

  const timer = setInterval(() => {
    // While Redis is down the counts fail; that is not the symptom this looks for.
    check().catch(() => undefined);
  }, intervalMs);
  timer.unref();

  return {
    current: () => worker,
    async close() {
      closing = true;
      clearInterval(timer);
      await worker.close();
    },
  };
}
