import type { RedisClient } from '../../shared/redis';
import { z } from 'zod';
import type { ReconcileReport } from '../../shared/reconcile';
import type { RequestKind } from '../../shared/requests/records';

const stuckSchema = z.object({
  count: z.number().int().min(0),
  lowerBound: z.boolean(),
  candidates: z.number().int().min(0),
  examined: z.number().int().min(0),
  oldest: z.array(z.object({ id: z.string(), ageS: z.number(), status: z.string().nullable() })),
});

const storedSchema = z.object({
  startedAt: z.number(),
  completedAt: z.number(),
  /** Rows drifting per invariant check. */
  drift: z.record(z.string(), z.number().int().min(0)),
  /** Where the checks read (reports stored before replicas could serve them: the primary). */
  checksOn: z.enum(['primary', 'replica']).default('primary'),
  /** Unix ms a recent run's checks read from; null for a full run (every report before them). */
  since: z.number().nullable().default(null),
  /** Unix ms the last full run up to this one started; 0: none on record. */
  lastFullStartedAt: z.number().default(0),
  // Reports stored before cancellations existed have no `cancel`: none were stuck then.
  stuck: z.object({
    order: stuckSchema,
    charge: stuckSchema,
    cancel: stuckSchema.default({
      count: 0,
      lowerBound: false,
      candidates: 0,
      examined: 0,
      oldest: [],
    }),
  }),
  /** Redis records repaired from the database in that run, per kind. */
  repaired: z.object({
    order: z.number().int().min(0),
    charge: z.number().int().min(0),
    cancel: z.number().int().min(0).default(0),
  }),
});

/**
 * What a completed reconcile leaves in Redis for every worker process's gauges: counts, not the
 * drifting rows (`npm run ops -- reconcile` prints those).
 */
export type StoredReport = z.infer<typeof storedSchema>;

/**
 * The report to store: counts, not rows. `lastFullStartedAt` is carried from the previous
 * report (0 if none) unless this run was full.
 */
export function summarize(report: ReconcileReport, lastFullStartedAt = 0): StoredReport {
  const stuck = (kind: RequestKind) => {
    const { count, lowerBound, candidates, examined, oldest } = report.stuck[kind];
    return { count, lowerBound, candidates, examined, oldest };
  };
  return {
    startedAt: report.startedAt,
    completedAt: report.completedAt,
    drift: Object.fromEntries(report.checks.map((c) => [c.name, c.violations.length])),
    checksOn: report.checksOn,
    since: report.since,
    lastFullStartedAt: report.since === null ? report.startedAt : lastFullStartedAt,
    stuck: { order: stuck('order'), charge: stuck('charge'), cancel: stuck('cancel') },
    repaired: {
      order: report.stuck.order.repaired.length,
      charge: report.stuck.charge.repaired.length,
      cancel: report.stuck.cancel.repaired.length,
    },
  };
}

/**
 * The keys of the reconcile under `REDIS_PREFIX`: the latest report, the lock of the run in
 * progress, and when the last run started (so a process late for its slot does not run it
 * again).
 */
export function reconcileKeys(prefix: string) {
  return {
    report: `${prefix}:reconcile:report`,
    lock: `${prefix}:reconcile:lock`,
    lastStart: `${prefix}:reconcile:last-start`,
  };
}

export async function saveReport(redis: RedisClient, prefix: string, report: StoredReport) {
  await redis.set(reconcileKeys(prefix).report, JSON.stringify(report));
}

/** The latest completed report, or null before the first (or if it cannot be read as one). */
export async function latestReport(
  redis: RedisClient,
  prefix: string,
): Promise<StoredReport | null> {
  const text = await redis.get(reconcileKeys(prefix).report);
  if (text === null) return null;
  try {
    const parsed = storedSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
