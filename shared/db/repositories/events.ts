import type { Sequelize, Transaction } from 'sequelize';
import { select, sqlDateTime, write } from '../sql';

export type EventStatus = 'PENDING' | 'DELIVERED' | 'DEAD';

/** An outbox row as the delivery worker needs it. */
export interface EventRecord {
  id: string;
  orderId: string;
  type: string;
  /** The stored JSON (the event's `order` part), parsed; validated by whoever uses it. */
  payload: unknown;
  status: EventStatus;
  attempts: number;
  occurredAt: Date;
}

export interface DeadEventRecord {
  id: string;
  orderId: string;
  attempts: number;
  lastError: string | null;
  occurredAt: Date;
  updatedAt: Date;
}

/** Where a keyset page of rows ends: (occurred_at, id), the order of the status index. */
export interface EventCursor {
  occurredAt: Date;
  id: string;
}

const LAST_ERROR_MAX = 500;

export interface NewEvent {
  id: string;
  orderId: string;
  type: string;
  payload: object;
  occurredAt: Date;
}

/** MariaDB returns a JSON column as text, MySQL as a parsed value. */
const parseJson = (value: unknown): unknown =>
  typeof value === 'string' ? (JSON.parse(value) as unknown) : value;

/**
 * The transactional outbox: an event row written in the same transaction as its cause, then
 * moved along by the relay, the sweeper and the delivery worker.
 *
 * `enqueued_at` is the last sign that a job exists for a PENDING row: set when the sweeper
 * hands it to the queue and on every delivery attempt. NULL means no job was confirmed yet.
 */
export function createEventsRepository(sequelize: Sequelize) {
  /** Outbox rows written in the transaction of their cause (several for a group commit). */
  async function recordMany(tx: Transaction, events: readonly NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    await write(
      sequelize,
      'INSERT INTO order_events (id, order_id, type, payload, occurred_at) VALUES ?',
      [
        events.map((event) => [
          event.id,
          event.orderId,
          event.type,
          JSON.stringify(event.payload),
          sqlDateTime(event.occurredAt),
        ]),
      ],
      tx,
    );
  }

  /** The rows of these ids that exist, by id, in one statement. */
  async function findMany(ids: readonly string[]): Promise<Map<string, EventRecord>> {
    if (ids.length === 0) return new Map();
    const rows = await select<EventRecord>(
      sequelize,
      `SELECT id, order_id AS orderId, type, payload, status, attempts, occurred_at AS occurredAt
       FROM order_events WHERE id IN (?)`,
      [ids],
    );
    return new Map(rows.map((row) => [row.id, { ...row, payload: parseJson(row.payload) }]));
  }

  return {
    async record(tx: Transaction, event: NewEvent): Promise<void> {
      await recordMany(tx, [event]);
    },

    recordMany,

    async find(id: string): Promise<EventRecord | undefined> {
      return (await findMany([id])).get(id);
    },

    findMany,

    /**
     * Records a 2xx for each row, in one statement; a row already DELIVERED (another delivery
     * won) is left as it is. Answers how many rows changed.
     */
    async markDelivered(ids: readonly string[], at: Date): Promise<number> {
      if (ids.length === 0) return 0;
      const result = await write(
        sequelize,
        `UPDATE order_events
         SET status = 'DELIVERED', delivered_at = ?, attempts = attempts + 1, last_error = NULL,
             enqueued_at = ?
         WHERE id IN (?) AND status <> 'DELIVERED'`,
        [sqlDateTime(at), sqlDateTime(at), ids],
      );
      return result.affectedRows;
    },

    /** Records a failed attempt: PENDING again (a retry follows) or DEAD (none does). */
    async markFailed(id: string, error: string, dead: boolean, at: Date): Promise<void> {
      await write(
        sequelize,
        `UPDATE order_events
         SET status = ?, attempts = attempts + 1, last_error = ?, enqueued_at = ?
         WHERE id = ? AND status <> 'DELIVERED'`,
        [dead ? 'DEAD' : 'PENDING', error.slice(0, LAST_ERROR_MAX), sqlDateTime(at), id],
      );
    },

    /**
     * PENDING rows the queue may not know about: never confirmed enqueued and older than
     * `unconfirmedBefore` (the relay had its chance), or without a sign of their job since
     * `silentBefore`. Both are index range scans on (status, enqueued_at, occurred_at).
     */
    async dueForRelay(unconfirmedBefore: Date, silentBefore: Date, limit: number) {
      const rows = await select<{ id: string }>(
        sequelize,
        `(SELECT id FROM order_events
           WHERE status = 'PENDING' AND enqueued_at IS NULL AND occurred_at <= ?
           ORDER BY occurred_at LIMIT ?)
         UNION ALL
         (SELECT id FROM order_events
           WHERE status = 'PENDING' AND enqueued_at <= ?
           ORDER BY enqueued_at LIMIT ?)`,
        [sqlDateTime(unconfirmedBefore), limit, sqlDateTime(silentBefore), limit],
      );
      return rows.map((row) => row.id);
    },

    async markEnqueued(ids: string[], at: Date): Promise<void> {
      if (ids.length === 0) return;
      await write(
        sequelize,
        `UPDATE order_events SET enqueued_at = ? WHERE id IN (?) AND status = 'PENDING'`,
        [sqlDateTime(at), ids],
      );
    },

    /** When the oldest undelivered (PENDING) event happened; one index lookup. */
    async oldestPending(): Promise<Date | null> {
      const [row] = await select<{ oldest: Date | null }>(
        sequelize,
        `SELECT MIN(occurred_at) AS oldest FROM order_events WHERE status = 'PENDING'`,
        [],
      );
      return row?.oldest ?? null;
    },

    async countByStatus(): Promise<Record<EventStatus, number>> {
      const rows = await select<{ status: EventStatus; n: number }>(
        sequelize,
        'SELECT status, COUNT(*) AS n FROM order_events GROUP BY status',
        [],
      );
      const counts: Record<EventStatus, number> = { PENDING: 0, DELIVERED: 0, DEAD: 0 };
      for (const row of rows) counts[row.status] = row.n;
      return counts;
    },

    /** DEAD rows, most recent first (by when the event happened). */
    async latestDead(limit: number): Promise<DeadEventRecord[]> {
      return select<DeadEventRecord>(
        sequelize,
        `SELECT id, order_id AS orderId, attempts, last_error AS lastError,
                occurred_at AS occurredAt, updated_at AS updatedAt
         FROM order_events WHERE status = 'DEAD' ORDER BY occurred_at DESC, id DESC LIMIT ?`,
        [limit],
      );
    },

    /** One page of DEAD rows after `after`, oldest first: keyset, so it never rescans. */
    async deadPage(after: EventCursor | null, limit: number): Promise<EventCursor[]> {
      const from = after ?? { occurredAt: new Date(0), id: '' };
      return select<EventCursor>(
        sequelize,
        `SELECT id, occurred_at AS occurredAt FROM order_events
         WHERE status = 'DEAD' AND (occurred_at > ? OR (occurred_at = ? AND id > ?))
         ORDER BY occurred_at, id LIMIT ?`,
        [sqlDateTime(from.occurredAt), sqlDateTime(from.occurredAt), from.id, limit],
      );
    },

    /** DEAD → PENDING with a fresh set of attempts; the caller enqueues them. */
    async revive(ids: string[]): Promise<number> {
      if (ids.length === 0) return 0;
      const result = await write(
        sequelize,
        `UPDATE order_events SET status = 'PENDING', attempts = 0, enqueued_at = NULL
         WHERE id IN (?) AND status = 'DEAD'`,
        [ids],
      );
      return result.affectedRows;
    },
  };
}

export type EventsRepository = ReturnType<typeof createEventsRepository>;
