import { setTimeout as sleep } from 'node:timers/promises';
import type { FinalCounts, LoadWorld } from './world';

const FINAL_ORDER = ['PAID', 'FAILED', 'CANCELLED', 'ON_HOLD'];
const FINAL_CHARGE = ['COMPLETED', 'FAILED', 'ON_HOLD'];

export interface SettleResult {
  /** Every accepted order and charge has a final (or ON_HOLD) row. */
  done: boolean;
  waitedMs: number;
  counts: FinalCounts;
  finalOrders: number;
  finalCharges: number;
}

const total = (counts: Record<string, number>, statuses: string[]) =>
  statuses.reduce((sum, status) => sum + (counts[status] ?? 0), 0);

export interface SettleOptions {
  /** Give up when the final count has not moved for this long. */
  stallMs: number;
  /** Give up after this long in any case. */
  maxMs: number;
  pollMs?: number;
  /** Called after each poll (for a progress line once a second). */
  onPoll?: (finalOrders: number, finalCharges: number) => void;
}

/**
 * Waits until the database holds a final row (or an ON_HOLD one) for at least as many orders
 * and charges as were accepted. More rows than 202s is possible: a request the client timed
 * out on may still have been accepted.
 */
export async function waitUntilFinal(
  world: LoadWorld,
  accepted: { orders: number; charges: number },
  options: SettleOptions,
): Promise<SettleResult> {
  const started = Date.now();
  let lastProgressAt = started;
  let lastTotal = -1;
  const pollMs = options.pollMs ?? 500;
  for (let round = 0; round < 1_000_000; round++) {
    const counts = await world.finalCounts();
    const finalOrders = total(counts.orders, FINAL_ORDER);
    const finalCharges = total(counts.charges, FINAL_CHARGE);
    options.onPoll?.(finalOrders, finalCharges);
    const now = Date.now();
    const done = finalOrders >= accepted.orders && finalCharges >= accepted.charges;
    if (finalOrders + finalCharges !== lastTotal) {
      lastTotal = finalOrders + finalCharges;
      lastProgressAt = now;
    }
    if (done || now - lastProgressAt > options.stallMs || now - started > options.maxMs) {
      return { done, waitedMs: now - started, counts, finalOrders, finalCharges };
    }
    await sleep(pollMs);
  }
  throw new Error('unreachable: settle loop bound');
}
