import type { Transaction } from 'sequelize';
import { duplicateKeyName } from '../../shared/db/sql';
import { inTransaction } from '../../shared/db/transaction';
import type { OrderJob } from '../../shared/queues/orders';
import type { OrderView } from '../../shared/views';
import {
  failedView,
  insertFailure,
  OrderRejected,
  payInTransaction,
  placeOrder,
  type PlaceOrderDeps,
} from './place-order';

export interface BatcherOptions {
  /** Most orders applied in one transaction (default 32). */
  maxBatch?: number;
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
 * applied in ONE transaction, each inside its own savepoint: every order is still all or
 * nothing (a refused order rolls back to its savepoint and is recorded FAILED), but the batch
 * pays for one commit — one log flush — and holds a hot product's row lock once, instead of
 * once per order. Under light load a batch is one order and this is `placeOrder` itself.
 *
 * Anything unusual leaves the batch: an order whose row already exists (a redelivery, an
 * ON_HOLD placeholder, a lost idempotency record) is resolved on its own after the commit, and
 * if the batch transaction fails for any other reason every order is retried on its own, so
 * one bad order never fails the others.
 */
export function createOrderBatcher(deps: PlaceOrderDeps, options: BatcherOptions = {}) {
  const maxBatch = options.maxBatch ?? 32;
  const waiting: Pending[] = [];
  let flushing = false;

  async function applyTogether(batch: Pending[]): Promise<Outcome[]> {
    return inTransaction(deps.sequelize, async (tx: Transaction) => {
      const savepoint = (sql: string) => deps.sequelize.query(sql, { transaction: tx });
      const outcomes: Outcome[] = [];
      for (const [index, { job }] of batch.entries()) {
        const items = [...job.items].sort((a, b) => a.productId - b.productId);
        await savepoint(`SAVEPOINT o${index}`);
        try {
          outcomes.push({ paid: await payInTransaction(deps, tx, job, items) });
          continue;
        } catch (error) {
          // A deadlock has already rolled the whole transaction back; then this throws too,
          // and the batch is retried (inTransaction) or its orders go one by one.
          await savepoint(`ROLLBACK TO SAVEPOINT o${index}`);
          if (!(error instanceof OrderRejected)) {
            if (duplicateKeyName(error) === undefined) throw error;
            outcomes.push({ alone: true });
            continue;
          }
          const failedAt = new Date();
          try {
            await insertFailure(deps, tx, job, error, failedAt);
            outcomes.push({ failed: failedView(job, error, failedAt) });
          } catch (insertError) {
            if (duplicateKeyName(insertError) === undefined) throw insertError;
            await savepoint(`ROLLBACK TO SAVEPOINT o${index}`);
            outcomes.push({ alone: true });
          }
        }
      }
      return outcomes;
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
          continue;
        }
        let outcomes: Outcome[];
        try {
          outcomes = await applyTogether(batch);
        } catch {
          await Promise.all(batch.map((p) => settle(p, () => placeOrder(deps, p.job))));
          continue;
        }
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
