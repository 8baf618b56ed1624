import type { Sequelize, Transaction } from 'sequelize';
import type { BalancesRepository, LedgerEntry } from '../../shared/db/repositories/balances';
import type { EventsRepository, NewEvent } from '../../shared/db/repositories/events';
import type {
  NewOrder,
  OrderItemRecord,
  OrdersRepository,
} from '../../shared/db/repositories/orders';
import type { StockRepository } from '../../shared/db/repositories/stock';
import { inTransaction } from '../../shared/db/transaction';
import { isDatabaseUnavailable } from '../../shared/infra-errors';
import type { OrderJob } from '../../shared/queues/orders';
import type { OrderView } from '../../shared/views';
import { decideOrders } from './decide-orders';
import { failedRecord, failedView, ledgerEntry, paidRecords } from './order-rows';

export interface PlaceOrderDeps {
  sequelize: Sequelize;
  orders: OrdersRepository;
  stock: StockRepository;
  balances: BalancesRepository;
  events: EventsRepository;
  /**
   * Told the recorded event's id once the paying transaction has committed (never for a
   * rolled-back attempt or a redelivery that changed nothing). Must return at once and never
   * throw: it only hurries delivery along, the outbox row is what guarantees it.
   */
  eventRecorded?(eventId: string): void;
}

/**
 * Why a transaction of orders rolled back instead of committing (not an outage, which fails
 * every order alike and is left to the job processor):
 * - `duplicate`: a unique key already held one of its orders — a redelivery, an ON_HOLD
 *   placeholder, an idempotency key whose Redis record was lost. Those orders take the
 *   recorded outcome (a placeholder is replaced), the others are applied again together.
 * - `error`: anything else, such as a row the database refuses. Each order is then applied
 *   alone, so the order at fault fails only itself.
 */
export type BatchFallbackCause = 'duplicate' | 'error';

export interface BatchFallback {
  cause: BatchFallbackCause;
  /** Orders in the transaction that rolled back. */
  orders: number;
  /** What rolled it back. */
  error: unknown;
}

/** What the group commit reports (metrics, logs); every hook must return at once, never throw. */
export interface PlaceOrdersHooks {
  /** Told the number of orders of every order transaction that commits. */
  committed?(orders: number): void;
  /** Told every time a transaction of orders rolls back and they are applied another way. */
  fellBack?(fallback: BatchFallback): void;
}

/** An order of the transaction is already recorded: roll back, then see which and whose. */
class AlreadyRecorded extends Error {
  constructor() {
    super('a unique key of orders already holds one of the orders');
    this.name = 'AlreadyRecorded';
  }
}

/** Lookups after a duplicate before giving up: a conflict nobody holds any more is retried. */
const MAX_ROUNDS = 3;

type Outcome = PromiseSettledResult<OrderView>;

/**
 * Applies an accepted order exactly once and returns its final view: the orders' rule
 * ({@link placeOrders}) over a batch of one.
 */
export async function placeOrder(
  deps: PlaceOrderDeps,
  job: OrderJob,
  hooks: PlaceOrdersHooks = {},
): Promise<OrderView> {
  const [outcome] = await placeOrders(deps, [job], hooks);
  if (outcome?.status === 'fulfilled') return outcome.value;
  throw outcome?.reason;
}

/**
 * Applies accepted orders exactly once, all in ONE transaction of about ten statements however
 * many there are: lock the products and users they name (ascending id, as every writer locks),
 * decide each order in turn by {@link decideOrders}, then write orders, items, stock, hourly
 * sales, balances, ledger and outbox rows one multi-row statement each. The batch pays for one
 * commit and one lock of a hot product's row (what that buys: load/REPORT.md); each order still
 * succeeds or is refused on its own, and a refused order is recorded FAILED and changes
 * nothing.
 *
 * Outcomes, one per job in the jobs' order: the final view (FAILED included), or the error of
 * an order that could not be applied (an outage fails them all alike).
 *
 * Exactly once: an order repeated in the batch (same id, or same user and idempotency key)
 * takes the outcome of its first occurrence; one a unique key already holds rolls the
 * transaction back and takes the recorded outcome ({@link BatchFallbackCause}).
 */
export async function placeOrders(
  deps: PlaceOrderDeps,
  jobs: readonly OrderJob[],
  hooks: PlaceOrdersHooks = {},
): Promise<Outcome[]> {
  const firsts: OrderJob[] = [];
  const firstOf = new Map<string, OrderJob>();
  const followed = jobs.map((job) => {
    const key = `${String(job.userId)}:${job.idempotencyKey}`;
    const first = firstOf.get(job.orderId) ?? firstOf.get(key);
    if (first) return first;
    firstOf.set(job.orderId, job).set(key, job);
    firsts.push(job);
    return job;
  });
  const outcomes = await placeDistinct(deps, firsts, hooks);
  return followed.map(
    (job) =>
      outcomes.get(job.orderId) ?? { status: 'rejected', reason: new Error('order not applied') },
  );
}

/** {@link placeOrders} for orders that are all distinct; outcomes by order id. */
async function placeDistinct(
  deps: PlaceOrderDeps,
  jobs: readonly OrderJob[],
  hooks: PlaceOrdersHooks,
): Promise<Map<string, Outcome>> {
  const outcomes = new Map<string, Outcome>();
  const fail = (list: readonly OrderJob[], reason: unknown) => {
    for (const job of list) outcomes.set(job.orderId, { status: 'rejected', reason });
    return outcomes;
  };
  let pending = [...jobs];
  const replacing = new Set<string>();
  for (let round = 1; ; round++) {
    let decided;
    try {
      decided = await inTransaction(deps.sequelize, (tx) =>
        decideAndWrite(deps, tx, pending, replacing),
      );
    } catch (error) {
      if (error instanceof AlreadyRecorded) {
        hooks.fellBack?.({ cause: 'duplicate', orders: pending.length, error });
      } else if (pending.length === 1 || isDatabaseUnavailable(error)) {
        // Alone, the error is the order's own; an outage fails every order alike, and retrying
        // each alone would knock on a dead database once per order.
        return fail(pending, error);
      } else {
        hooks.fellBack?.({ cause: 'error', orders: pending.length, error });
        const alone = await Promise.all(pending.map((job) => placeDistinct(deps, [job], hooks)));
        for (const each of alone) for (const [id, outcome] of each) outcomes.set(id, outcome);
        return outcomes;
      }
    }
    if (decided) {
      hooks.committed?.(pending.length);
      for (const { job, view, eventId } of decided) {
        if (eventId) deps.eventRecorded?.(eventId);
        outcomes.set(job.orderId, { status: 'fulfilled', value: view });
      }
      return outcomes;
    }

    // Rolled back on a duplicate: the recorded rows say which orders and whose.
    let recorded;
    try {
      recorded = await deps.orders.findRecorded(pending);
    } catch (error) {
      return fail(pending, error);
    }
    for (const job of pending) {
      const found = recorded.get(job.orderId);
      if (!found) continue;
      // The order's own placeholder: this delivery records it for real, in the next round.
      if (found.heldBy === 'id' && found.view.status === 'ON_HOLD') replacing.add(job.orderId);
      else outcomes.set(job.orderId, { status: 'fulfilled', value: found.view });
    }
    pending = pending.filter((job) => !outcomes.has(job.orderId));
    if (pending.length === 0) return outcomes;
    if (round >= MAX_ROUNDS) {
      return fail(pending, new Error('a unique key kept refusing orders no recorded order holds'));
    }
  }
}

/** The transaction of a batch: lock, decide, write. Throws {@link AlreadyRecorded} on a duplicate. */
async function decideAndWrite(
  deps: PlaceOrderDeps,
  tx: Transaction,
  jobs: readonly OrderJob[],
  replacing: ReadonlySet<string>,
): Promise<{ job: OrderJob; view: OrderView; eventId: string | null }[]> {
  const ascending = (ids: Iterable<number>) => [...new Set(ids)].sort((a, b) => a - b);
  const locked = await deps.stock.lockForOrders(
    tx,
    ascending(jobs.flatMap((j) => j.items.map((i) => i.productId))),
    ascending(jobs.map((j) => j.userId)),
  );
  await deps.orders.deleteOnHold(
    tx,
    jobs.filter((j) => replacing.has(j.orderId)).map((j) => j.orderId),
  );
  const decisions = decideOrders(jobs, locked);

  const now = new Date();
  const rows: { order: NewOrder; items: OrderItemRecord[] }[] = [];
  const ledger: LedgerEntry[] = [];
  const events: NewEvent[] = [];
  const decided = decisions.orders.map((decision) => {
    const { job } = decision;
    if ('refused' in decision) {
      rows.push({ order: failedRecord(job, decision.refused, now), items: decision.refused.items });
      return { job, view: failedView(job, decision.refused, now), eventId: null };
    }
    const { items, total, balanceAfter } = decision.paid;
    const paid = paidRecords(job, items, total, now);
    rows.push({ order: paid.order, items });
    if (balanceAfter !== null) ledger.push(ledgerEntry(job, total, balanceAfter));
    events.push(paid.event);
    return { job, view: paid.view, eventId: paid.event.id };
  });

  // First: a duplicate (the common reason to roll back) is found before anything else is written.
  if ((await deps.orders.insertMany(tx, rows)) === 'duplicate') throw new AlreadyRecorded();
  const taken = await deps.stock.takeLocked(tx, decisions.takes);
  const debited = taken && (await deps.balances.debitLocked(tx, decisions.debits));
  if (!debited) throw new Error('a locked stock or balance changed under the decision');
  await deps.stock.addSalesLocked(
    tx,
    now,
    decisions.orders.flatMap((decision) => ('paid' in decision ? decision.paid.items : [])),
  );
  await deps.balances.recordLedgerMany(tx, ledger);
  await deps.events.recordMany(tx, events);
  return decided;
}
