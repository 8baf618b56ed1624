import type { Sequelize, Transaction } from 'sequelize';
import { select, write } from '../sql';

/** The most a balance may hold (contract: BALANCE_LIMIT_EXCEEDED beyond it). */
export const BALANCE_LIMIT = 1_000_000_000_000;

export interface LedgerEntry {
  userId: number;
  sourceType: 'charge' | 'order' | 'refund';
  sourceId: string;
  delta: number;
  balanceAfter: number;
}

/** Balance changes, always paired by the caller with a ledger row in the same transaction. */
export function createBalancesRepository(sequelize: Sequelize) {
  async function recordLedgerMany(tx: Transaction, entries: readonly LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await write(
      sequelize,
      `INSERT INTO balance_ledger (user_id, source_type, source_id, delta, balance_after)
       VALUES ?`,
      [entries.map((e) => [e.userId, e.sourceType, e.sourceId, e.delta, e.balanceAfter])],
      tx,
    );
  }

  return {
    /** Users exist implicitly; the first charge creates the row. */
    async ensureUser(tx: Transaction, userId: number): Promise<void> {
      await write(sequelize, 'INSERT IGNORE INTO users (id) VALUES (?)', [userId], tx);
    },

    /** Adds `amount` unless the balance would pass the limit; returns the new balance or null. */
    async credit(tx: Transaction, userId: number, amount: number): Promise<number | null> {
      // LAST_INSERT_ID(expr) hands the new balance back without another round trip.
      const result = await write(
        sequelize,
        'UPDATE users SET balance = LAST_INSERT_ID(balance + ?) WHERE id = ? AND balance <= ? - ?',
        [amount, userId, BALANCE_LIMIT, amount],
        tx,
      );
      return result.affectedRows === 1 ? result.insertId : null;
    },

    /** One row per balance change; unique per source, so a change is recorded only once. */
    async recordLedger(tx: Transaction, entry: LedgerEntry): Promise<void> {
      await recordLedgerMany(tx, [entry]);
    },

    recordLedgerMany,

    /** {@link ensureUser} for many users in one statement. */
    async ensureUsers(tx: Transaction, userIds: readonly number[]): Promise<void> {
      if (userIds.length === 0) return;
      await write(
        sequelize,
        'INSERT IGNORE INTO users (id) VALUES ?',
        [userIds.map((id) => [id])],
        tx,
      );
    },

    /**
     * Locks the users' rows (ascending id: the lock order of every writer) and reads their
     * balances; a user without a row is absent from the map.
     */
    async lockBalances(tx: Transaction, userIds: readonly number[]): Promise<Map<number, number>> {
      if (userIds.length === 0) return new Map();
      const rows = await select<{ id: number; balance: number | string }>(
        sequelize,
        'SELECT id, balance FROM users WHERE id IN (?) ORDER BY id FOR UPDATE',
        [[...userIds].sort((a, b) => a - b)],
        tx,
      );
      return new Map(rows.map((row) => [row.id, Number(row.balance)]));
    },

    /**
     * Adds each amount to a row this transaction has locked and checked against the limit:
     * one statement for the batch. The condition still guards the write: false means some
     * balance was not what the decision assumed, and the caller must roll back.
     */
    async creditLocked(tx: Transaction, amounts: ReadonlyMap<number, number>): Promise<boolean> {
      if (amounts.size === 0) return true;
      const cases = [...amounts].flatMap(([id, amount]) => [id, amount]);
      const byId = `CASE id ${'WHEN ? THEN ? '.repeat(amounts.size)}END`;
      const result = await write(
        sequelize,
        `UPDATE users SET balance = balance + ${byId} WHERE id IN (?) AND balance <= ? - ${byId}`,
        [...cases, [...amounts.keys()], BALANCE_LIMIT, ...cases],
        tx,
      );
      return result.affectedRows === amounts.size;
    },

    /**
     * Subtracts each amount from a row this transaction has locked and checked: one statement
     * for the batch. The condition (`balance >= amount`) still guards the write: false means
     * some balance was lower than the decision assumed, and the caller must roll back (the
     * CHECK constraint, balance >= 0, refuses the mistake regardless).
     */
    async debitLocked(tx: Transaction, amounts: ReadonlyMap<number, number>): Promise<boolean> {
      if (amounts.size === 0) return true;
      const cases = [...amounts].flatMap(([id, amount]) => [id, amount]);
      const byId = `CASE id ${'WHEN ? THEN ? '.repeat(amounts.size)}END`;
      const result = await write(
        sequelize,
        `UPDATE users SET balance = balance - ${byId} WHERE id IN (?) AND balance >= ${byId}`,
        [...cases, [...amounts.keys()], ...cases],
        tx,
      );
      return result.affectedRows === amounts.size;
    },
  };
}

export type BalancesRepository = ReturnType<typeof createBalancesRepository>;
