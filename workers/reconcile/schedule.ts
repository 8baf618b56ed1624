import type { RedisClient } from '../../shared/redis';
import { messageOf } from '../../shared/infra-errors';
import type { Sequelize } from 'sequelize';
import type { Logger } from '../../shared/logger';
import { reconcileAll, type ReconcileDeps } from '../../shared/reconcile';
import type { DbBreaker } from '../../shared/resilience/breaker';
import type { RequestRecords } from '../../shared/requests/records';
import { createRedisLock } from './lock';
import { latestReport, reconcileKeys, saveReport, summarize, type StoredReport } from './store';

export interface ReconcileScheduleDeps {
  sequelize: Sequelize;
  records: RequestRecords;
  /** Where a run's invariant checks read ({@link ReconcileDeps.checksDb}); the primary if absent. */
  checksDb?: ReconcileDeps['checksDb'];
  /** Holds the lock and the report; the caller owns it. */
  redis: RedisClient;
  prefix: string;
  /** The worker's job breaker: consulted (a run is skipped while it is open), never run through. */
  breaker: DbBreaker;
  logger: Logger;
}

export interface ReconcileScheduleOptions {
  /** Seconds between runs (`RECONCILE_INTERVAL_S`), on the wall-clock grid; 0: never. */
  intervalS: number;
  /**
   * Seconds between full runs (`RECONCILE_FULL_INTERVAL_S`); the runs between them are recent
   * ({@link sinceOfNextRun}). 0: every run is full.
   */
  fullIntervalS: number;
  /** `STUCK_AFTER_S`. */
  stuckAfterS: number;
  /** Open ids examined per kind and run (default 10,000; see `findStuck`). */
  maxExamined?: number;
}

/** What one tick did. */
export type RunOutcome = 'completed' | 'skipped' | 'failed';

export interface ReconcileSchedule {
  /** Runs for the slot that started at `slotMs` (default now), as a tick would. */
  runOnce(slotMs?: number): Promise<RunOutcome>;
  /** Stops the timer and waits for a run in progress; idempotent. */
  close(): Promise<void>;
}

/** A run may hold the lock this long at least, however short the interval. */
const MIN_LEASE_MS = 30_000;

/** A full run may hold the lock this many intervals: it reads the whole history. */
const FULL_LEASE_INTERVALS = 4;

/**
 * How long a run may hold the lock: the interval (at least 30 s), four for a full run. A run
 * that takes longer gives up; a process that dies holding the lock frees it after this.
 */
export function leaseFor(intervalMs: number, full: boolean): number {
  return Math.max(full ? FULL_LEASE_INTERVALS * intervalMs : intervalMs, MIN_LEASE_MS);
}

/**
 * How far before the previous run's start a recent run reads: a transaction still open at that
 * start commits rows stamped before it, and the workers' clocks may differ from the runner's.
 */
export const RECENT_MARGIN_MS = 120_000;

/**
 * Where the next run's checks read from (unix ms), or null for a full run: full when no run is
 * on record, when the last full one started `fullIntervalMs` ago or more, and while the last
 * run found drift (so the drift stays in view, and its gauge falls to 0 only when a full run
 * no longer finds it); otherwise from the start of the last completed run, less a margin, so
 * consecutive runs leave no gap whatever ran or failed between them.
 */
export function sinceOfNextRun(
  previous: StoredReport | null,
  now: number,
  fullIntervalMs: number,
): number | null {
  if (fullIntervalMs === 0 || previous === null || previous.lastFullStartedAt === 0) return null;
  if (now - previous.lastFullStartedAt >= fullIntervalMs) return null;
  if (Object.values(previous.drift).some((rows) => rows > 0)) return null;
  return previous.startedAt - RECENT_MARGIN_MS;
}

/**
 * The reconcile on a schedule. Every worker process ticks at each multiple of the interval of
 * wall-clock time; at each tick one of them runs it:
 *
 * - the lock (`<prefix>:reconcile:lock`, a token, an expiry of {@link leaseFor}, released or
 *   extended only by its holder) lets one process run at a time; the others skip the tick;
 * - `<prefix>:reconcile:last-start` tells a process that reaches the lock late (after the
 *   run of its slot ended) that the slot is done;
 * - the run's report is stored in RedisClient, where every process's gauges read it.
 *
 * Each run is full or recent ({@link sinceOfNextRun}); the runner reads the last report to tell.
 * The reconcile's queries can be long scans, so they stay off the job breaker: a slow scan must not
 * count as a failed job and open the breaker for the jobs. A run is skipped while that breaker
 * is open (the database is known down). A failed or skipped run is logged and tried again at
 * the next tick; nothing here throws into the process.
 */
export function startReconcileSchedule(
  deps: ReconcileScheduleDeps,
  options: ReconcileScheduleOptions,
): ReconcileSchedule {
  const intervalMs = options.intervalS * 1_000;
  const leaseMs = leaseFor(intervalMs, false);
  const keys = reconcileKeys(deps.prefix);
  const lock = createRedisLock(deps.redis, keys.lock);
  const { logger } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<RunOutcome> | undefined;
  let closed = false;

  /**
   * Runs the reconcile within its lease (a full run's is longer: the lock is extended for it);
   * throws if it fails or takes longer.
   */
  async function reconcileWithinLease(token: string): Promise<StoredReport> {
    const previous = await latestReport(deps.redis, deps.prefix);
    const since = sinceOfNextRun(previous, Date.now(), options.fullIntervalS * 1_000);
    const lease = leaseFor(intervalMs, since === null);
    if (lease > leaseMs && !(await lock.extend(token, lease))) {
      throw new Error('the reconcile lock expired before the run began');
    }
    let timeout: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => {
        reject(new Error(`the reconcile took longer than its lock (${lease} ms)`));
      }, lease);
      timeout.unref();
    });
    try {
      const report = await Promise.race([
        reconcileAll(deps, {
          stuckAfterS: options.stuckAfterS,
          ...(since === null ? {} : { since }),
          ...(options.maxExamined === undefined ? {} : { maxExamined: options.maxExamined }),
        }),
        expired,
      ]);
      return summarize(report, previous?.lastFullStartedAt);
    } finally {
      clearTimeout(timeout);
    }
  }

  async function run(slotMs: number): Promise<RunOutcome> {
    if (deps.breaker.state === 'open') {
      logger.warn('reconcile skipped: the database breaker is open; next try at the next interval');
      return 'skipped';
    }
    let token: string | null = null;
    try {
      token = await lock.acquire(leaseMs);
      if (token === null) {
        logger.debug('reconcile skipped: another process runs it');
        return 'skipped';
      }
      const lastStart = Number((await deps.redis.get(keys.lastStart)) ?? 0);
      if (lastStart >= slotMs) {
        logger.debug('reconcile skipped: this interval ran already');
        return 'skipped';
      }
      await deps.redis.set(keys.lastStart, String(Date.now()));
      const report = await reconcileWithinLease(token);
      await saveReport(deps.redis, deps.prefix, report);
      const drifting = Object.entries(report.drift).filter(([, rows]) => rows > 0);
      const stuck = report.stuck.order.count + report.stuck.charge.count;
      logger.log(drifting.length > 0 || stuck > 0 ? 'warn' : 'info', 'reconcile completed', {
        ms: report.completedAt - report.startedAt,
        checksOn: report.checksOn,
        scope: report.since === null ? 'full' : 'recent',
        ...(report.since === null ? {} : { since: new Date(report.since).toISOString() }),
        drift: Object.fromEntries(drifting),
        stuck: { order: report.stuck.order.count, charge: report.stuck.charge.count },
        stuckLowerBound: report.stuck.order.lowerBound || report.stuck.charge.lowerBound,
        repaired: report.repaired,
        startedAt: report.startedAt,
        completedAt: report.completedAt,
      });
      return 'completed';
    } catch (error) {
      logger.error('reconcile failed; next try at the next interval', {
        error: messageOf(error),
      });
      return 'failed';
    } finally {
      if (token !== null) {
        await lock.release(token).catch((error: unknown) => {
          // It expires by itself.
          logger.warn('could not release the reconcile lock', { error: messageOf(error) });
        });
      }
    }
  }

  function runOnce(slotMs = Date.now()): Promise<RunOutcome> {
    if (running) {
      logger.warn('reconcile still running: skipping this interval');
      return Promise.resolve('skipped');
    }
    const current = run(slotMs).finally(() => {
      running = undefined;
    });
    running = current;
    return current;
  }

  function scheduleNext(): void {
    if (closed || intervalMs === 0) return;
    const slotMs = (Math.floor(Date.now() / intervalMs) + 1) * intervalMs;
    timer = setTimeout(() => {
      void runOnce(slotMs);
      scheduleNext();
    }, slotMs - Date.now());
    // The workers keep the process alive; this timer alone must not.
    timer.unref();
  }
  scheduleNext();

  let closing: Promise<void> | undefined;
  return {
    runOnce,
    close() {
      closing ??= (async () => {
        closed = true;
        clearTimeout(timer);
        await running;
      })();
      return closing;
    },
  };
}
