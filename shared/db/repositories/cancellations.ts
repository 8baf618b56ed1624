import type { Sequelize, Transaction } from 'sequelize';
import type { CancellationJob } from '../../queues/cancellations';
import { insertUnlessDuplicate, select, sqlDateTime, write, type InsertOutcome } from '../sql';

/** What a cancellation came to: the order's end (CANCELLED, or FAILED left as it was), or ON_HOLD. */
export type CancellationOutcome = 'CANCELLED' | 'FAILED' | 'ON_HOLD';

export interface CancellationRecord {
  id: string;
  orderId: string;
  userId: number;
  idempotencyKey: string;
  outcome: CancellationOutcome;
  requestId: string | null;
  createdAt: Date;
}

/**
 * The recorded cancellation a unique key holds against a request: its own id (a redelivery, an
 * ON_HOLD placeholder) or, under another id, the user's idempotency key (its Redis record was lost).
 */
export interface RecordedCancellation {
  heldBy: 'id' | 'idempotency-key';
  record: CancellationRecord;
}

const COLUMNS = `id, order_id AS orderId, user_id AS userId, idempotency_key AS idempotencyKey,
  outcome, request_id AS requestId, created_at AS createdAt`;

/** order_cancellations: every cancellation a worker applied (or put ON_HOLD), once per request. */
export function createCancellationsRepository(sequelize: Sequelize) {
  return {
    /** `duplicate` when the id or the user's idempotency key holds a row already. */
    insert(tx: Transaction, row: CancellationRecord): Promise<InsertOutcome> {
      return insertUnlessDuplicate(
        sequelize,
        `INSERT INTO order_cancellations
           (id, order_id, user_id, idempotency_key, outcome, request_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [
          row.id,
          row.orderId,
          row.userId,
          row.idempotencyKey,
          row.outcome,
          row.requestId,
          sqlDateTime(row.createdAt),
        ],
        tx,
      );
    },

    /** Read after a duplicate rolled a transaction back: the committed row that refused it. */
    async findRecorded(request: {
      cancellationId: string;
      userId: number;
      idempotencyKey: string;
    }): Promise<RecordedCancellation | null> {
      const rows = await select<CancellationRecord>(
        sequelize,
        `SELECT ${COLUMNS} FROM order_cancellations
         WHERE id = ? OR (user_id = ? AND idempotency_key = ?)`,
        [request.cancellationId, request.userId, request.idempotencyKey],
      );
      const own = rows.find((row) => row.id === request.cancellationId);
      if (own) return { heldBy: 'id', record: own };
      const [byKey] = rows;
      return byKey ? { heldBy: 'idempotency-key', record: byKey } : null;
    },

    async deleteOnHold(tx: Transaction, id: string): Promise<void> {
      await write(
        sequelize,
        "DELETE FROM order_cancellations WHERE id = ? AND outcome = 'ON_HOLD'",
        [id],
        tx,
      );
    },

    async find(id: string): Promise<CancellationRecord | null> {
      const [row] = await select<CancellationRecord>(
        sequelize,
        `SELECT ${COLUMNS} FROM order_cancellations WHERE id = ?`,
        [id],
      );
      return row ?? null;
    },

    /**
     * ON_HOLD cancellations as the jobs that would apply them (for `ops replay-on-hold`). The
     * job carries no order snapshot: an order a cancellation went ON_HOLD for has a row by the
     * time anyone replays it (applied, or its own ON_HOLD placeholder).
     */
    async onHoldJobs(): Promise<CancellationJob[]> {
      const rows = await select<CancellationRecord>(
        sequelize,
        `SELECT ${COLUMNS} FROM order_cancellations WHERE outcome = 'ON_HOLD' ORDER BY created_at`,
        [],
      );
      return rows.map((row) => ({
        cancellationId: row.id,
        orderId: row.orderId,
        userId: row.userId,
        idempotencyKey: row.idempotencyKey,
        ...(row.requestId ? { requestId: row.requestId } : {}),
        acceptedAt: row.createdAt.toISOString(),
        order: null,
      }));
    },
  };
}

export type CancellationsRepository = ReturnType<typeof createCancellationsRepository>;
