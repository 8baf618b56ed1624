import type { Sequelize, Transaction } from 'sequelize';
import { write } from '../sql';

/** The most a balance may hold (contract: BALANCE_LIMIT_EXCEEDED beyond it). */
export const BALANCE_LIMIT = 1_000_000_000_000;

/** Balance changes, always paired by the caller with a ledger row in the same transaction. */
export function createBalancesRepository(sequelize: Sequelize) {
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
    async recordLedger(
      tx: Transaction,
      entry: {
        userId: number;
        sourceType: 'charge' | 'order';
        sourceId: string;
        delta: number;
        balanceAfter: number;
      },
    ): Promise<void> {
      await write(
        sequelize,
        `INSERT INTO balance_ledger (user_id, source_type, source_id, delta, balance_after)
         VALUES (?, ?, ?, ?, ?)`,
        [entry.userId, entry.sourceType, entry.sourceId, entry.delta, entry.balanceAfter],
        tx,
      );
    },
  };
}

export type BalancesRepository = ReturnType<typeof createBalancesRepository>;
