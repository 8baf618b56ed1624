import type { Logger } from '../logger';
import type { RequestKind, RequestRecords } from './records';

/** What a final view read from the database must carry to be published again. */
export interface RecordedView {
  userId: number;
  status: string;
  createdAt: string;
}

export interface StuckDeps {
  records: RequestRecords;
  /** The final views the database holds for these ids (absent: not final there). */
  finalViews(kind: RequestKind, ids: readonly string[]): Promise<Map<string, RecordedView>>;
  logger: Logger;
}

export interface StuckOptions {
  /** A request still open this long after its accept is a candidate. */
  stuckAfterS: number;
  /**
   * Open ids examined per kind and run at most (default 10,000), oldest first; when more are
   * candidates, the count is a lower bound and says so.
   */
  maxExamined?: number;
  /** Ids per round trip to Redis and to the database (default 500). */
  pageSize?: number;
  /** The oldest stuck ids kept in the report (default 5). */
  shown?: number;
  /** The reconcile's clock (unix ms; default now). */
  now?: number;
}

/** Stuck requests of one kind, as one run found them. */
export interface StuckReport {
  kind: RequestKind;
  /** Requests found stuck; at least this many when {@link lowerBound}. */
  count: number;
  /** Not every candidate was examined (the `maxExamined` cap): `count` is a lower bound. */
  lowerBound: boolean;
  /** Open ids accepted more than `stuckAfterS` ago: stuck, ON_HOLD, or final in the database. */
  candidates: number;
  examined: number;
  /** The oldest stuck ones, oldest first. */
  oldest: { id: string; ageS: number; status: string | null }[];
  /** Ids whose Redis record was repaired from the final state the database holds. */
  repaired: string[];
}

/**
 * Finds the accepted requests of one kind that are stuck: open in Redis (accepted, no final
 * view) for more than `stuckAfterS`, not ON_HOLD (those have their own alert and `ops on-hold`),
 * and not final in the database either. One the database has final is repaired instead: its
 * final view is published from the database (which also takes it out of the open sets), logged
 * and reported — whether a worker died between its commit and publishing the final view, or a
 * job that failed for good after its commit left it ON_HOLD (`workers/jobs/on-hold.ts`).
 *
 * The work is bounded: pages of `pageSize` ids, at most `maxExamined` per run over every
 * partition, oldest first within each.
 */
export async function findStuck(
  deps: StuckDeps,
  kind: RequestKind,
  options: StuckOptions,
): Promise<StuckReport> {
  const now = options.now ?? Date.now();
  const maxExamined = options.maxExamined ?? 10_000;
  const pageSize = options.pageSize ?? 500;
  const shown = options.shown ?? 5;
  const cutoff = now - options.stuckAfterS * 1_000;
  const report: StuckReport = {
    kind,
    count: 0,
    lowerBound: false,
    candidates: 0,
    examined: 0,
    oldest: [],
    repaired: [],
  };
  const parts = deps.records.parts();
  for (const part of parts) report.candidates += await part.countOpenBefore(kind, cutoff);

  // Partitions one after the other, sharing the budget of ids examined.
  for (const part of parts) {
    let after: { id: string; ms: number } | null = null;
    while (report.examined < maxExamined) {
      const page = await part.openPageBefore(
        kind,
        cutoff,
        after,
        Math.min(pageSize, maxExamined - report.examined),
      );
      after = page.at(-1) ?? null;
      if (!after) break;
      report.examined += page.length;

      const records = await part.getMany(
        kind,
        page.map((e) => e.id),
      );
      const open = page.map((entry, i) => ({ ...entry, status: records[i]?.status ?? null }));
      const final = await deps.finalViews(
        kind,
        open.map((e) => e.id),
      );
      if (final.size > 0) {
        const repairs = [...final].map(([id, view]) => ({
          id,
          userId: view.userId,
          acceptedAt: view.createdAt,
          status: view.status,
          view,
        }));
        await part.publishFinalMany(kind, repairs);
        for (const { id, status } of repairs) {
          deps.logger.warn('reconcile repaired a status record from the database', {
            kind,
            id,
            status,
          });
          report.repaired.push(id);
        }
      }
      for (const entry of open) {
        if (final.has(entry.id) || entry.status === 'ON_HOLD') continue;
        report.count++;
        report.oldest.push({
          id: entry.id,
          ageS: Math.floor((now - entry.ms) / 1_000),
          status: entry.status,
        });
      }
      report.oldest = report.oldest.sort((x, y) => y.ageS - x.ageS).slice(0, shown);
    }
    // Stopped by the cap with candidates left: the count covers the oldest ones only.
    if (
      report.examined >= maxExamined &&
      (await part.openPageBefore(kind, cutoff, after, 1)).length > 0
    ) {
      report.lowerBound = true;
    }
  }
  return report;
}
