import type { Sequelize } from 'sequelize';
import { reconcile, recordedFinalViews, type InvariantCheck } from './db/reconcile';
import type { Logger } from './logger';
import type { RequestKind, RequestRecords } from './requests/records';
import { findStuck, type StuckOptions, type StuckReport } from './requests/stuck';

/** The kinds of accepted requests, in report order: the `kind` label of shop_requests_stuck. */
export const TRACKED_KINDS: readonly RequestKind[] = Object.freeze(['order', 'charge', 'cancel']);

/** One complete reconcile: the database's invariants and the accepted requests left behind. */
export interface ReconcileReport {
  /** Unix ms. */
  startedAt: number;
  completedAt: number;
  checks: InvariantCheck[];
  /** Where the invariant checks read. */
  checksOn: ChecksSource;
  /** Unix ms the checks read from (a recent run), or null: every row (a full run). */
  since: number | null;
  stuck: Record<RequestKind, StuckReport>;
}

export type ChecksSource = 'primary' | 'replica';

export interface ReconcileDeps {
  /** The primary: stuck requests are judged against it, and the checks read it by default. */
  sequelize: Sequelize;
  records: RequestRecords;
  logger: Logger;
  /**
   * Where this run's invariant checks read, asked at its start: a read replica that keeps up
   * takes their scans off the primary. Absent: the primary.
   */
  checksDb?: () => { sequelize: Sequelize; source: ChecksSource };
}

/**
 * The whole reconcile, as the scheduled worker run and `npm run ops -- reconcile` both do it:
 * every invariant check (on the database, or on a replica that keeps up; over every row, or
 * with `since` over the rows written from then on), then the stuck requests of each kind
 * (judged against the primary, which repairs the Redis records it has final). Throws when
 * either store fails.
 */
export async function reconcileAll(
  deps: ReconcileDeps,
  options: Omit<StuckOptions, 'now'> & { since?: number },
): Promise<ReconcileReport> {
  const startedAt = Date.now();
  const { since, ...stuckOptions } = options;
  const target = deps.checksDb?.() ?? { sequelize: deps.sequelize, source: 'primary' };
  const checks = await reconcile(
    target.sequelize,
    since === undefined ? undefined : new Date(since),
  );
  const stuckDeps = {
    records: deps.records,
    logger: deps.logger,
    finalViews: (kind: RequestKind, ids: readonly string[]) =>
      recordedFinalViews(deps.sequelize, kind, ids),
  };
  const now = Date.now();
  const stuck = {
    order: await findStuck(stuckDeps, 'order', { ...stuckOptions, now }),
    charge: await findStuck(stuckDeps, 'charge', { ...stuckOptions, now }),
    cancel: await findStuck(stuckDeps, 'cancel', { ...stuckOptions, now }),
  };
  return {
    startedAt,
    completedAt: Date.now(),
    checks,
    checksOn: target.source,
    since: since ?? null,
    stuck,
  };
}
