import { summarize, type LatencySummary } from './recorder';
import type { ExtraChart } from './types';
import type { OrderTiming } from './world';

/** How fast orders were accepted and became final, from the database's own timestamps. */
export interface FinalisationSummary {
  orders: number;
  paid: number;
  failed: number;
  /** Seconds from `origin` to the last acceptance and to the last final order. */
  lastAcceptS: number;
  lastFinalS: number;
  /** Orders finalised per second from `origin` to the last final order. */
  finalisedPerSecond: number;
  /** ... and from the end of submitting to the last final order (the backlog's drain). */
  drainedPerSecond: number | null;
  /** Orders still not final when submitting ended. */
  backlogAtSubmitEnd: number;
  /** created_at → updated_at of each order: acceptance to final, in ms. */
  acceptToFinal: LatencySummary;
}

/** "850 ms" or "116.1 s". */
export function duration(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

/** "p50 / p95 / p99" of a wait, each as a {@link duration}. */
export function percentiles(summary: LatencySummary): string {
  return [summary.p50, summary.p95, summary.p99].map(duration).join(' / ');
}

const perSecond = (count: number, seconds: number) =>
  seconds > 0 ? Math.round(count / seconds) : 0;

/**
 * Summarises order timings relative to `origin` (epoch ms, the start of submitting) and
 * `submitEnd` (when the last submit was answered).
 */
export function summariseFinalisation(
  timings: OrderTiming[],
  origin: number,
  submitEnd: number,
): FinalisationSummary {
  let lastAccept = origin;
  let lastFinal = origin;
  let paid = 0;
  let finalBySubmitEnd = 0;
  const waits = new Float64Array(timings.length);
  for (const [i, t] of timings.entries()) {
    lastAccept = Math.max(lastAccept, t.acceptedAt);
    lastFinal = Math.max(lastFinal, t.finalAt);
    if (t.status === 'PAID') paid += 1;
    if (t.finalAt <= submitEnd) finalBySubmitEnd += 1;
    waits[i] = t.finalAt - t.acceptedAt;
  }
  const afterSubmit = timings.length - finalBySubmitEnd;
  const drainS = (lastFinal - submitEnd) / 1_000;
  return {
    orders: timings.length,
    paid,
    failed: timings.length - paid,
    lastAcceptS: (lastAccept - origin) / 1_000,
    lastFinalS: (lastFinal - origin) / 1_000,
    finalisedPerSecond: perSecond(timings.length, (lastFinal - origin) / 1_000),
    drainedPerSecond: afterSubmit > 0 && drainS > 0 ? perSecond(afterSubmit, drainS) : null,
    backlogAtSubmitEnd: afterSubmit,
    acceptToFinal: summarize(waits.sort()),
  };
}

/**
 * Accepted and finalised orders per second since `origin`, and cumulative: the drain's
 * shape (a backlog that grows while submitting, then shrinks at the workers' pace).
 */
export function orderCharts(timings: OrderTiming[], origin: number): ExtraChart[] {
  let last = 0;
  for (const t of timings) last = Math.max(last, t.finalAt - origin, t.acceptedAt - origin);
  const seconds = Math.ceil(last / 1_000);
  const accepted = new Array<number>(seconds + 1).fill(0);
  const finalised = new Array<number>(seconds + 1).fill(0);
  const slot = (at: number) => Math.min(seconds, Math.max(0, Math.ceil((at - origin) / 1_000)));
  for (const t of timings) {
    accepted[slot(t.acceptedAt)] = (accepted[slot(t.acceptedAt)] ?? 0) + 1;
    finalised[slot(t.finalAt)] = (finalised[slot(t.finalAt)] ?? 0) + 1;
  }
  const points = (counts: number[]): [number, number][] => counts.map((n, s) => [s, n]);
  const cumulate = (counts: number[]): [number, number][] => {
    let sum = 0;
    return counts.map((n, s) => [s, (sum += n)]);
  };
  const xLabel = 'seconds since submitting started';
  return [
    {
      file: 'orders-per-second.svg',
      title: 'Orders accepted and finalised per second (database timestamps)',
      xLabel,
      yLabel: 'orders / s',
      series: [
        { name: 'accepted/s (created_at)', points: points(accepted) },
        { name: 'finalised/s (updated_at)', points: points(finalised) },
      ],
    },
    {
      file: 'orders-cumulative.svg',
      title: 'Orders accepted and final, cumulative (the gap is the backlog)',
      xLabel,
      yLabel: 'orders',
      series: [
        { name: 'accepted', points: cumulate(accepted) },
        { name: 'final', points: cumulate(finalised) },
      ],
    },
  ];
}
