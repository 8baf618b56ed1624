import type { Sequelize, Transaction } from 'sequelize';
import type { ChargeJob } from '../../queues/charges';
import type { ChargeStatus, ChargeView } from '../../views';
import {
  insertUnlessDuplicate,
  select,
  sqlDateTime,
  sqlDateTimeOrNull,
  write,
  type InsertOutcome,
} from '../sql';

export interface NewCharge {
  id: string;
  userId: number;
  amount: number;
  status: ChargeStatus;
  failureCode: string | null;
  balanceAfter: number | null;
  idempotencyKey: string;
  requestId: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

/** A charge row as read back (the request's key and id stay in the table). */
type ChargeRecord = Omit<NewCharge, 'idempotencyKey' | 'requestId'>;

/**
 * The recorded charge that a unique key holds against a request: the request's own charge id
 * (`id`: a redelivery, an ON_HOLD placeholder) or, under another id, the user's idempotency key
 * (`idempotency-key`: the request repeats one whose Redis record was lost).
 */
export interface RecordedCharge {
  heldBy: 'id' | 'idempotency-key';
  view: ChargeView;
}

const CHARGE_COLUMNS = `id, user_id AS userId, amount, status, failure_code AS failureCode,
  balance_after AS balanceAfter, created_at AS createdAt, completed_at AS completedAt`;

function toChargeView(row: ChargeRecord): ChargeView {
  return {
    chargeId: row.id,
    userId: row.userId,
    amount: row.amount,
    status: row.status,
    failureCode: row.failureCode,
    balanceAfter: row.balanceAfter,
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
  };
}

export function createChargesRepository(sequelize: Sequelize) {
  async function viewWhere(
    where: string,
    params: unknown[],
    tx?: Transaction,
  ): Promise<ChargeView | null> {
    const [row] = await select<ChargeRecord>(
      sequelize,
      `SELECT ${CHARGE_COLUMNS} FROM charges WHERE ${where}`,
      params,
      tx,
    );
    return row ? toChargeView(row) : null;
  }

  return {
    /** `duplicate` when a unique key (the id, or the user's idempotency key) holds it already. */
    insert(tx: Transaction, charge: NewCharge): Promise<InsertOutcome> {
      return insertUnlessDuplicate(
        sequelize,
        `INSERT INTO charges (id, user_id, amount, status, failure_code, balance_after,
           idempotency_key, request_id, created_at, completed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          charge.id,
          charge.userId,
          charge.amount,
          charge.status,
          charge.failureCode,
          charge.balanceAfter,
          charge.idempotencyKey,
          charge.requestId,
          sqlDateTime(charge.createdAt),
          sqlDateTimeOrNull(charge.completedAt),
        ],
        tx,
      );
    },

    /** Of these charge ids, the ones already recorded (applied, or held ON_HOLD). */
    async recordedIds(tx: Transaction, ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const rows = await select<{ id: string }>(
        sequelize,
        'SELECT id FROM charges WHERE id IN (?)',
        [ids],
        tx,
      );
      return new Set(rows.map((row) => row.id));
    },

    /**
     * Inserts every charge in one statement; `duplicate` (and nothing inserted) when a unique
     * key holds any of them already.
     */
    insertMany(tx: Transaction, charges: readonly NewCharge[]): Promise<InsertOutcome> {
      if (charges.length === 0) return Promise.resolve('inserted');
      return insertUnlessDuplicate(
        sequelize,
        `INSERT INTO charges (id, user_id, amount, status, failure_code, balance_after,
           idempotency_key, request_id, created_at, completed_at)
         VALUES ?`,
        [
          charges.map((charge) => [
            charge.id,
            charge.userId,
            charge.amount,
            charge.status,
            charge.failureCode,
            charge.balanceAfter,
            charge.idempotencyKey,
            charge.requestId,
            sqlDateTime(charge.createdAt),
            sqlDateTimeOrNull(charge.completedAt),
          ]),
        ],
        tx,
      );
    },

    /**
     * The recorded charge a unique key holds against this request: its own id first, else the
     * user's idempotency key; null if neither. Read after the failed transaction, so it sees the
     * committed row that refused the insert.
     */
    async findRecorded(request: {
      chargeId: string;
      userId: number;
      idempotencyKey: string;
    }): Promise<RecordedCharge | null> {
      const rows = await select<ChargeRecord & { idempotencyKey: string }>(
        sequelize,
        `SELECT ${CHARGE_COLUMNS}, idempotency_key AS idempotencyKey FROM charges
         WHERE id = ? OR (user_id = ? AND idempotency_key = ?)`,
        [request.chargeId, request.userId, request.idempotencyKey],
      );
      const own = rows.find((row) => row.id === request.chargeId);
      if (own) return { heldBy: 'id', view: toChargeView(own) };
      const [byKey] = rows;
      return byKey ? { heldBy: 'idempotency-key', view: toChargeView(byKey) } : null;
    },

    async deleteOnHold(tx: Transaction, id: string): Promise<void> {
      await write(sequelize, "DELETE FROM charges WHERE id = ? AND status = 'ON_HOLD'", [id], tx);
    },

    /** ON_HOLD charges as the jobs that would apply them (for `ops replay-on-hold`). */
    async onHoldJobs(): Promise<ChargeJob[]> {
      const rows = await select<NewCharge>(
        sequelize,
        `SELECT ${CHARGE_COLUMNS}, idempotency_key AS idempotencyKey, request_id AS requestId
         FROM charges WHERE status = 'ON_HOLD' ORDER BY created_at`,
        [],
      );
      return rows.map((row) => ({
        chargeId: row.id,
        userId: row.userId,
        amount: row.amount,
        idempotencyKey: row.idempotencyKey,
        ...(row.requestId ? { requestId: row.requestId } : {}),
        acceptedAt: row.createdAt.toISOString(),
      }));
    },

    findView(id: string, tx?: Transaction): Promise<ChargeView | null> {
      return viewWhere('id = ?', [id], tx);
    },
  };
}

export type ChargesRepository = ReturnType<typeof createChargesRepository>;
