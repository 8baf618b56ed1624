import type { Transaction } from 'sequelize';
import { inTransaction } from '../../shared/db/transaction';
import { isDatabaseUnavailable } from '../../shared/infra-errors';
import type { OrderJob } from '../../shared/queues/orders';
import type { OrderView } from '../../shared/views';
import type { LedgerEntry } from '../../shared/db/repositories/balances';
import type { NewEvent } from '../../shared/db/repositories/events';
import type { NewOrder, OrderItemRecord } from '../../shared/db/repositories/orders';
import { planBatch } from './batch-plan';
import {
  failedRecord,
  failedView,
  ledgerEntry,
  paidRecords,
  placeOrder,
  type PlaceOrderDeps,
} from './place-order';

export interface BatcherOptions {
  /** Most orders applied in one transaction (default 32). */
  maxBatch?: number;
  /** Told the size of every batch transaction that commits (a metric); must not throw. */
  committed?(orders: number): void;
}

interface Pending {
  job: OrderJob;
  resolve(view: OrderView): void;
  reject(error: unknown): void;
}

type Outcome =
  { paid: { view: OrderView; eventId: string } } | { failed: OrderView } | { alone: true };

/**
 * Group commit for orders. The orders a worker process has in hand at the same moment are
 * applied in ONE transaction of about ten statements: every order is still decided on its own
 * (a refused order is recorded FAILED and changes nothing), but the batch pays for one commit
 * — one log flush — and one lock of a hot product's row, instead of one per order, and its
 * round trips do not grow with its size. Under light load a batch is one order and this is
 * `placeOrder` itself.
 *
 * Anything unusual leaves the batch: an order whose row already exists (a redelivery, an
 * ON_HOLD placeholder) or that repeats another of the batch is resolved on its own after the
 * commit, and if the batch transaction fails for any other reason than an outage (an
 * idempotency key whose Redis record was lost, say) every order is retried on its own, so one
 * bad order never fails the others.
 */
export function createOrderBatcher(deps: PlaceOrderDeps, options: BatcherOptions = {}) {
  const maxBatch = options.maxBatch ?? 32;
  const waiting: Pending[] = [];
  let flushing = false;

  /**
   * The batch in one transaction and about ten statements, however many orders it holds:
   * lock the products and users it names (ascending id, as every writer locks), decide every
   * order in memory (`planBatch`), then write stock, balances, orders, items, ledger and
   * outbox rows in one multi-row statement each.
   */
  async function applyTogether(batch: Pending[]): Promise<Outcome[]> {
    return inTransaction(deps.sequelize, async (tx: Transaction) => {
      const existing = await deps.orders.existingIds(
        tx,
        batch.map((p) => p.job.orderId),
      );
      // Redeliveries, ON_HOLD placeholders and repeats inside the batch go on their own.
      const seen = new Set<string>();
      const alone = batch.map(({ job }) => {
        const keys = [job.orderId, `${job.userId}:${job.idempotencyKey}`];
        const repeat = existing.has(job.orderId) || keys.some((k) => seen.has(k));
        keys.forEach((k) => seen.add(k));
        return repeat;
      });
      const jobs = batch.filter((_, i) => !alone[i]).map((p) => p.job);
      const ascending = (ids: Iterable<number>) => [...new Set(ids)].sort((a, b) => a - b);
      const plan = planBatch(jobs, {
        products: await deps.stock.lockRows(
          tx,
          ascending(jobs.flatMap((j) => j.items.map((i) => i.productId))),
        ),
        balances: await deps.balances.lockBalances(tx, ascending(jobs.map((j) => j.userId))),
      });
      await deps.stock.takeLocked(tx, plan.takes);
      await deps.balances.debitLocked(tx, plan.debits);

      const now = new Date();
      const rows: { order: NewOrder; items: OrderItemRecord[] }[] = [];
      const ledger: LedgerEntry[] = [];
      const events: NewEvent[] = [];
      const decided: Outcome[] = plan.orders.map((planned) => {
        const { job } = planned;
        if ('refused' in planned) {
          rows.push({
            order: failedRecord(job, planned.refused, now),
            items: planned.refused.items,
          });
          return { failed: failedView(job, planned.refused, now) };
        }
        const { items, total, balanceAfter } = planned.paid;
        const paid = paidRecords(job, items, total, now);
        rows.push({ order: paid.order, items });
        if (balanceAfter !== null) ledger.push(ledgerEntry(job, total, balanceAfter));
        events.push(paid.event);
        return { paid: { view: paid.view, eventId: paid.event.id } };
      });
      await deps.orders.insertMany(tx, rows);
      await deps.balances.recordLedgerMany(tx, ledger);
      await deps.events.recordMany(tx, events);

      let next = 0;
      return alone.map((isAlone): Outcome => {
        if (isAlone) return { alone: true };
        return decided[next++] ?? { alone: true };
      });
    });
  }

  async function settle(pending: Pending, work: () => Promise<OrderView>): Promise<void> {
    try {
      pending.resolve(await work());
    } catch (error) {
      pending.reject(error);
    }
  }

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, maxBatch);
        if (batch.length === 1) {
          const [only] = batch;
          if (only) await settle(only, () => placeOrder(deps, only.job));
          options.committed?.(1);
          continue;
        }
        let outcomes: Outcome[];
        try {
          outcomes = await applyTogether(batch);
        } catch (error) {
          // An outage fails every order alike: retrying each alone would knock on a dead
          // database once per order.
          if (isDatabaseUnavailable(error)) {
            for (const pending of batch) pending.reject(error);
            continue;
          }
          await Promise.all(batch.map((p) => settle(p, () => placeOrder(deps, p.job))));
          continue;
        }
        options.committed?.(outcomes.filter((o) => !('alone' in o)).length);
        const alone: Promise<void>[] = [];
        for (const [i, pending] of batch.entries()) {
          const outcome = outcomes[i];
          if (outcome && 'paid' in outcome) {
            deps.eventRecorded?.(outcome.paid.eventId);
            pending.resolve(outcome.paid.view);
          } else if (outcome && 'failed' in outcome) {
            pending.resolve(outcome.failed);
          } else {
            alone.push(settle(pending, () => placeOrder(deps, pending.job)));
          }
        }
        await Promise.all(alone);
      }
    } finally {
      flushing = false;
    }
  }

  return {
    /** Applies the order (with whatever else is waiting) and resolves to its final view. */
    place(job: OrderJob): Promise<OrderView> {
      return new Promise<OrderView>((resolve, reject) => {
        waiting.push({ job, resolve, reject });
        // Let the jobs a worker starts in the same tick join this batch.
        if (!flushing) setImmediate(() => void flush());
        flushing = true;
      });
    },
  };
}

export type OrderBatcher = ReturnType<typeof createOrderBatcher>;
