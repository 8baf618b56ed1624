import type { Transaction } from 'sequelize';
import { BALANCE_LIMIT, type LedgerEntry } from '../../shared/db/repositories/balances';
import type { NewCharge } from '../../shared/db/repositories/charges';
import { inTransaction } from '../../shared/db/transaction';
import type { ChargeJob } from '../../shared/queues/charges';
import type { ChargeView } from '../../shared/views';
import { applyCharge, type ApplyChargeDeps } from './apply-charge';

/** The balances changed under the batch's decisions: the batch rolls back, charges go alone. */
class BalancesMoved extends Error {
  constructor() {
    super('a locked balance was not what the batch decided on');
    this.name = 'BalancesMoved';
  }
}

/** A unique key of charges refused the batch's rows: it rolls back, charges go alone. */
class AlreadyRecorded extends Error {
  constructor() {
    super('a unique key of charges already holds one of the batch');
    this.name = 'AlreadyRecorded';
  }
}

/**
 * Group commit for charges: the charges a worker process holds at one moment applied in one
 * transaction of a fixed number of statements, whatever its size — the users' rows created
 * and locked once (ascending id), the ids already recorded read once, each credit decided in
 * memory in batch order by the rule of {@link applyCharge} (the limit, then the balance
 * after), then one multi-row statement each for charges, balances and ledger.
 *
 * A charge already recorded (a redelivery, its ON_HOLD placeholder) changes nothing in the
 * batch and is then handed to {@link applyCharge}, which reads the row holding it and decides
 * as it always has. If the batch itself fails (a user's idempotency key held by another
 * charge, an outage), every charge is applied on its own, so one charge cannot fail another.
 */
export async function applyCharges(
  deps: ApplyChargeDeps,
  jobs: readonly ChargeJob[],
): Promise<PromiseSettledResult<ChargeView>[]> {
  let views: (ChargeView | null)[];
  try {
    views = await inTransaction(deps.sequelize, (tx) => creditAndRecordMany(deps, tx, jobs));
  } catch {
    return Promise.allSettled(jobs.map((job) => applyCharge(deps, job)));
  }
  return Promise.allSettled(
    jobs.map((job, i) => {
      const view = views[i];
      return view ? Promise.resolve(view) : applyCharge(deps, job);
    }),
  );
}

async function creditAndRecordMany(
  deps: ApplyChargeDeps,
  tx: Transaction,
  jobs: readonly ChargeJob[],
): Promise<(ChargeView | null)[]> {
  const userIds = [...new Set(jobs.map((job) => job.userId))].sort((a, b) => a - b);
  await deps.balances.ensureUsers(tx, userIds);
  const balances = await deps.balances.lockBalances(tx, userIds);
  // Recorded already (a redelivery, an ON_HOLD placeholder), or twice in this batch: left to
  // the one-charge path after the commit.
  const recorded = await deps.charges.recordedIds(
    tx,
    jobs.map((job) => job.chargeId),
  );
  const credits = new Map<number, number>();
  const ledger: LedgerEntry[] = [];
  const rows: NewCharge[] = [];
  const views: (ChargeView | null)[] = [];
  const completedAt = new Date();
  for (const job of jobs) {
    if (recorded.has(job.chargeId)) {
      views.push(null);
      continue;
    }
    recorded.add(job.chargeId);
    const balance = balances.get(job.userId) ?? 0;
    const outcome =
      balance > BALANCE_LIMIT - job.amount
        ? { status: 'FAILED' as const, failureCode: 'BALANCE_LIMIT_EXCEEDED', balanceAfter: null }
        : { status: 'COMPLETED' as const, failureCode: null, balanceAfter: balance + job.amount };
    rows.push({
      id: job.chargeId,
      userId: job.userId,
      amount: job.amount,
      idempotencyKey: job.idempotencyKey,
      requestId: job.requestId ?? null,
      createdAt: new Date(job.acceptedAt),
      ...outcome,
      completedAt,
    });
    if (outcome.balanceAfter !== null) {
      balances.set(job.userId, outcome.balanceAfter);
      credits.set(job.userId, (credits.get(job.userId) ?? 0) + job.amount);
      ledger.push({
        userId: job.userId,
        sourceType: 'charge',
        sourceId: job.chargeId,
        delta: job.amount,
        balanceAfter: outcome.balanceAfter,
      });
    }
    views.push({
      chargeId: job.chargeId,
      userId: job.userId,
      amount: job.amount,
      ...outcome,
      createdAt: job.acceptedAt,
      completedAt: completedAt.toISOString(),
    });
  }
  // A user's idempotency key held by another charge id (its Redis record was lost) refuses
  // the whole statement: the batch rolls back and every charge takes the one-charge path.
  if ((await deps.charges.insertMany(tx, rows)) === 'duplicate') throw new AlreadyRecorded();
  if (!(await deps.balances.creditLocked(tx, credits))) throw new BalancesMoved();
  await deps.balances.recordLedgerMany(tx, ledger);
  return views;
}
