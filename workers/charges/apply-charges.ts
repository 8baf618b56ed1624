import type { Transaction } from 'sequelize';
import { BALANCE_LIMIT, type LedgerEntry } from '../../shared/db/repositories/balances';
import { inTransaction } from '../../shared/db/transaction';
import type { ChargeJob } from '../../shared/queues/charges';
import type { ChargeView } from '../../shared/views';
import { applyCharge, type ApplyChargeDeps } from './apply-charge';

/** The balances changed under the batch's decisions: the batch is rolled back and retried alone. */
class BalancesMoved extends Error {
  constructor() {
    super('a locked balance was not what the batch decided on');
    this.name = 'BalancesMoved';
  }
}

/**
 * Group commit for charges: the charges a worker process holds at one moment applied in one
 * transaction whose round trips grow by one per charge (its row), not six — the users' rows
 * created and locked once (ascending id), each credit decided in memory in batch order by
 * the rule of {@link applyCharge} (the limit, then the balance after), the balances written
 * with one statement and the ledger rows with another.
 *
 * A charge whose row a unique key already holds (a redelivery, its ON_HOLD placeholder, or the
 * user's idempotency key on another charge) changes nothing in the batch and is then handed
 * to {@link applyCharge}, which reads the row holding it and decides as it always has. If the
 * batch itself fails, every charge is applied on its own, so one charge cannot fail another.
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
  const credits = new Map<number, number>();
  const ledger: LedgerEntry[] = [];
  const views: (ChargeView | null)[] = [];
  const completedAt = new Date();
  for (const job of jobs) {
    const balance = balances.get(job.userId) ?? 0;
    const outcome =
      balance > BALANCE_LIMIT - job.amount
        ? { status: 'FAILED' as const, failureCode: 'BALANCE_LIMIT_EXCEEDED', balanceAfter: null }
        : { status: 'COMPLETED' as const, failureCode: null, balanceAfter: balance + job.amount };
    const inserted = await deps.charges.insert(tx, {
      id: job.chargeId,
      userId: job.userId,
      amount: job.amount,
      idempotencyKey: job.idempotencyKey,
      requestId: job.requestId ?? null,
      createdAt: new Date(job.acceptedAt),
      ...outcome,
      completedAt,
    });
    if (inserted === 'duplicate') {
      views.push(null);
      continue;
    }
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
  if (!(await deps.balances.creditLocked(tx, credits))) throw new BalancesMoved();
  await deps.balances.recordLedgerMany(tx, ledger);
  return views;
}
