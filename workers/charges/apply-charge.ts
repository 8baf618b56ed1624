import type { Sequelize } from 'sequelize';
import type { BalancesRepository } from '../../shared/db/repositories/balances';
import type { ChargesRepository } from '../../shared/db/repositories/charges';
import { duplicateKeyName } from '../../shared/db/sql';
import { inTransaction } from '../../shared/db/transaction';
import type { ChargeJob } from '../../shared/queues/charges';
import type { ChargeView } from '../../shared/views';

export interface ApplyChargeDeps {
  sequelize: Sequelize;
  charges: ChargesRepository;
  balances: BalancesRepository;
}

/**
 * Applies an accepted charge exactly once: credits the balance (unless it would pass the
 * limit, which ends the charge FAILED with BALANCE_LIMIT_EXCEEDED), records the charge and its
 * ledger row in one transaction. Returns the charge's final view; a redelivered charge returns
 * the recorded outcome and changes nothing (the charge's primary key refuses a second insert).
 */
export async function applyCharge(deps: ApplyChargeDeps, job: ChargeJob): Promise<ChargeView> {
  const base = {
    id: job.chargeId,
    userId: job.userId,
    amount: job.amount,
    idempotencyKey: job.idempotencyKey,
    requestId: job.requestId ?? null,
    createdAt: new Date(job.acceptedAt),
  };
  try {
    return await inTransaction(deps.sequelize, async (tx) => {
      await deps.balances.ensureUser(tx, job.userId);
      const balanceAfter = await deps.balances.credit(tx, job.userId, job.amount);
      const completedAt = new Date();
      const outcome =
        balanceAfter === null
          ? { status: 'FAILED' as const, failureCode: 'BALANCE_LIMIT_EXCEEDED', balanceAfter: null }
          : { status: 'COMPLETED' as const, failureCode: null, balanceAfter };
      await deps.charges.insert(tx, { ...base, ...outcome, completedAt });
      if (outcome.balanceAfter !== null) {
        await deps.balances.recordLedger(tx, {
          userId: job.userId,
          sourceType: 'charge',
          sourceId: job.chargeId,
          delta: job.amount,
          balanceAfter: outcome.balanceAfter,
        });
      }
      return {
        chargeId: job.chargeId,
        userId: job.userId,
        amount: job.amount,
        ...outcome,
        createdAt: job.acceptedAt,
        completedAt: completedAt.toISOString(),
      };
    });
  } catch (error) {
    const key = duplicateKeyName(error);
    if (key === 'PRIMARY') {
      const existing = await deps.charges.findView(job.chargeId);
      if (existing?.status === 'ON_HOLD') {
        await inTransaction(deps.sequelize, (tx) => deps.charges.deleteOnHold(tx, job.chargeId));
        return applyCharge(deps, job);
      }
      if (existing) return existing;
    }
    if (key === 'charges_user_idempotency') {
      const first = await deps.charges.findViewByIdempotencyKey(job.userId, job.idempotencyKey);
      if (first) return first;
    }
    throw error;
  }
}
