import type { Sequelize, Transaction } from 'sequelize';
import type { BalancesRepository } from '../../shared/db/repositories/balances';
import type { ChargesRepository } from '../../shared/db/repositories/charges';
import { inTransaction } from '../../shared/db/transaction';
import type { ChargeJob } from '../../shared/queues/charges';
import type { ChargeView } from '../../shared/views';

export interface ApplyChargeDeps {
  sequelize: Sequelize;
  charges: ChargesRepository;
  balances: BalancesRepository;
}

/** The charge is already recorded: roll back, then see which row holds it. */
class AlreadyRecorded extends Error {
  constructor() {
    super('a unique key of charges already holds the charge');
    this.name = 'AlreadyRecorded';
  }
}

/** Lookups after a duplicate before giving up: a conflict nobody holds any more is retried. */
const MAX_ROUNDS = 3;

/**
 * Applies an accepted charge exactly once: credits the balance (unless it would pass the
 * limit, which ends the charge FAILED with BALANCE_LIMIT_EXCEEDED), records the charge and its
 * ledger row in one transaction. Returns the charge's final view.
 *
 * A unique key that already holds the charge rolls the attempt back, and the row holding it
 * decides: the charge itself, final (a redelivery) — its recorded outcome, nothing changes; its
 * ON_HOLD placeholder — replaced by the real charge; another charge with the user's
 * idempotency key (its Redis record was lost) — that charge's outcome, nothing is applied.
 */
export async function applyCharge(deps: ApplyChargeDeps, job: ChargeJob): Promise<ChargeView> {
  let replacing = false;
  for (let round = 1; ; round++) {
    try {
      return await inTransaction(deps.sequelize, (tx) => creditAndRecord(deps, tx, job, replacing));
    } catch (error) {
      if (!(error instanceof AlreadyRecorded) || round >= MAX_ROUNDS) throw error;
    }
    const recorded = await deps.charges.findRecorded(job);
    if (recorded?.heldBy === 'id' && recorded.view.status === 'ON_HOLD') replacing = true;
    else if (recorded) return recorded.view;
  }
}

async function creditAndRecord(
  deps: ApplyChargeDeps,
  tx: Transaction,
  job: ChargeJob,
  replacing: boolean,
): Promise<ChargeView> {
  await deps.balances.ensureUser(tx, job.userId);
  const balanceAfter = await deps.balances.credit(tx, job.userId, job.amount);
  const completedAt = new Date();
  const outcome =
    balanceAfter === null
      ? { status: 'FAILED' as const, failureCode: 'BALANCE_LIMIT_EXCEEDED', balanceAfter: null }
      : { status: 'COMPLETED' as const, failureCode: null, balanceAfter };
  if (replacing) await deps.charges.deleteOnHold(tx, job.chargeId);
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
  if (inserted === 'duplicate') throw new AlreadyRecorded();
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
}
