import type { Sequelize, Transaction } from 'sequelize';
import { select, write } from '../sql';

/** The most a balance may hold (contract: BALANCE_LIMIT_EXCEEDED beyond it). */
export const BALANCE_LIMIT = 1_000_000_000_000;

export interface LedgerEntry {
  userId: number;
  sourceType: 'charge' | 'order';
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

    /** Subtracts `amount` if the balance covers it; returns the new balance or null. */
    async debit(tx: Transaction, userId: number, amount: number): Promise<number | null> {
      const result = await write(
        sequelize,
        'UPDATE users SET balance = LAST_INSERT_ID(balance - ?) WHERE id = ? AND balance >= ?',
        [amount, userId, amount],
        tx,
      );
      return result.affectedRows === 1 ? result.insertId : null;
    },

    /** One row per balance change; unique per source, so a change is recorded only once. */
    async recordLedger(tx: Transaction, entry: LedgerEntry): Promise<void> {
      await recordLedgerMany(tx, [entry]);
    },

    recordLedgerMany,

    /**
     * Locks these users' rows (ascending id, the order every writer locks in) and returns their
     * balances; a user without a row has no entry.
     */
    async lockBalances(tx: Transaction, userIds: readonly number[]): Promise<Map<number, number>> {
      if (userIds.length === 0) return new Map();
      const rows = await select<{ id: number; balance: number }>(
        sequelize,
        'SELECT id, balance FROM users WHERE id IN (?) ORDER BY id FOR UPDATE',
        [userIds],
        tx,
      );
      return new Map(rows.map((row) => [row.id, row.balance]));
    },

    /**
     * Subtracts each amount from a row this transaction has locked and checked: one statement
     * for the batch. The CHECK constraint (balance >= 0) still refuses any mistake.
     */
    async debitLocked(tx: Transaction, amounts: ReadonlyMap<number, number>): Promise<void> {
      if (amounts.size === 0) return;
      const cases = [...amounts].flatMap(([id, amount]) => [id, amount]);
      await write(
        sequelize,
        `UPDATE users SET balance = balance - CASE id ${'WHEN ? THEN ? '.repeat(amounts.size)}END
         WHERE id IN (?)`,
        [...cases, [...amounts.keys()]],
        tx,
      );
    },
  };
}

export type BalancesRepository = ReturnType<typeof createBalancesRepository>;
