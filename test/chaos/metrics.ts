import type { OrderRecord } from './clients';
import type { Sample } from './http';

/** How the API answered the requests sent while a dependency was down. */
export interface OutageAnswers {
  requests: number;
  /** Latency (ms) and answer (`503 OVERLOADED`) of the first requests sent after the cut. */
  first: { ms: number; answer: string }[];
  /** From the cut until the first 503 came back (before the restore), or null if none did. */
  first503AfterCutMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
  /** Answers by status and error code (`0` = no answer within the client's timeout). */
  byStatus: Record<string, number>;
}

export interface Recovery {
  /** From restore until the API accepted an order again (a 202 came back). */
  firstAcceptMs: number | null;
  /** From restore until any order (the backlog included) was paid, per the database. */
  anyPaidMs: number | null;
  /** From restore until an order accepted after it was paid, per the database. */
  newOrderPaidMs: number | null;
  /** The same as its client saw it (polling adds up to a few hundred ms, more with a backlog). */
  newOrderSeenPaidMs: number | null;
  /**
   * From restore until every order accepted before it was final or ON_HOLD, as their clients
   * saw it: the backlog of the outage drained. Null if some never were.
   */
  backlogDrainedMs: number | null;
}

/** Epoch ms of the first order paid since the restore, and of the first accepted since. */
export interface PaidSince {
  any: number | null;
  accepted: number | null;
}

const label = (s: Sample) => (s.code === undefined ? String(s.status) : `${s.status} ${s.code}`);

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? null;
}

/** Counts of answers by status for each kind of request, over the whole run. */
export function answersByKind(samples: Sample[]): Record<string, Record<string, number>> {
  const result: Record<string, Record<string, number>> = {};
  for (const s of samples) {
    const byStatus = (result[s.kind] ??= {});
    byStatus[label(s)] = (byStatus[label(s)] ?? 0) + 1;
  }
  return result;
}

/** The answers to requests of `kind` sent between the cut and the restore. */
export function outageAnswers(
  samples: Sample[],
  kind: Sample['kind'],
  cutAt: number,
  restoreAt: number,
): OutageAnswers {
  const during = samples
    .filter((s) => s.kind === kind && s.at >= cutAt && s.at < restoreAt)
    .sort((a, b) => a.at - b.at);
  const latencies = during.map((s) => s.ms).sort((a, b) => a - b);
  const byStatus: Record<string, number> = {};
  for (const s of during) byStatus[label(s)] = (byStatus[label(s)] ?? 0) + 1;
  // Requests in flight at the cut count too; 503s after the restore (overload) do not.
  const first503 = samples
    .filter(
      (s) => s.kind === kind && s.status === 503 && s.at + s.ms >= cutAt && s.at + s.ms < restoreAt,
    )
    .reduce<number | null>((min, s) => Math.min(min ?? Infinity, s.at + s.ms - cutAt), null);
  return {
    requests: during.length,
    first: during.slice(0, 5).map((s) => ({ ms: s.ms, answer: label(s) })),
    first503AfterCutMs: first503,
    p50Ms: percentile(latencies, 0.5),
    p95Ms: percentile(latencies, 0.95),
    maxMs: latencies.at(-1) ?? null,
    byStatus,
  };
}

export function recovery(
  samples: Sample[],
  orders: OrderRecord[],
  restoreAt: number,
  paidInDb: PaidSince,
): Recovery {
  let firstAccept: number | null = null;
  for (const s of samples) {
    if (s.kind === 'submit' && s.status === 202 && s.at + s.ms >= restoreAt) {
      firstAccept = Math.min(firstAccept ?? Infinity, s.at + s.ms - restoreAt);
    }
  }
  let firstPaid: number | null = null;
  for (const o of orders) {
    if (o.status === 'PAID' && o.resolvedAt !== undefined && (o.acceptedAt ?? 0) >= restoreAt) {
      firstPaid = Math.min(firstPaid ?? Infinity, o.resolvedAt - restoreAt);
    }
  }
  const since = (at: number | null) => (at === null ? null : Math.max(0, at - restoreAt));
  const backlog = orders.filter((o) => o.acceptedAt !== undefined && o.acceptedAt < restoreAt);
  const drainedAt = backlog.every((o) => o.resolvedAt !== undefined)
    ? Math.max(restoreAt, ...backlog.map((o) => o.resolvedAt ?? restoreAt))
    : null;
  return {
    firstAcceptMs: firstAccept,
    anyPaidMs: since(paidInDb.any),
    newOrderPaidMs: since(paidInDb.accepted),
    newOrderSeenPaidMs: firstPaid,
    backlogDrainedMs: since(drainedAt),
  };
}

/** Median and p95 latency of the 202s answered in `[from, to)`. */
export function acceptLatency(
  samples: Sample[],
  from: number,
  to: number,
): { p50Ms: number | null; p95Ms: number | null } {
  const latencies = samples
    .filter(
      (s) => s.kind === 'submit' && s.status === 202 && s.at + s.ms >= from && s.at + s.ms < to,
    )
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  return { p50Ms: percentile(latencies, 0.5), p95Ms: percentile(latencies, 0.95) };
}

/** 202s per second among submits answered in `[from, to)`. */
export function acceptRate(samples: Sample[], from: number, to: number): number {
  const accepted = samples.filter(
    (s) => s.kind === 'submit' && s.status === 202 && s.at + s.ms >= from && s.at + s.ms < to,
  ).length;
  return to > from ? Math.round((accepted * 1_000) / (to - from)) : 0;
}
