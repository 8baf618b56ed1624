import { setTimeout as sleep } from 'node:timers/promises';
import type { Sequelize, Transaction } from 'sequelize';
import { ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT, sqlErrno } from './sql';

/**
 * Runs `work` in one transaction, committed when it resolves and rolled back when it throws.
 * A deadlock rolls the whole transaction back in the server, so the whole of `work` is run
 * again (up to `attempts` times, with a short random pause). A lock-wait timeout is retried
 * once only: each costs DB_LOCK_WAIT_TIMEOUT_S, and two must fit inside the breaker's timeout.
 */
export async function inTransaction<T>(
  sequelize: Sequelize,
  work: (tx: Transaction) => Promise<T>,
  attempts = 4,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await sequelize.transaction(work);
    } catch (error) {
      const errno = sqlErrno(error);
      const retriable =
        errno === ER_LOCK_DEADLOCK || (errno === ER_LOCK_WAIT_TIMEOUT && attempt === 1);
      if (attempt >= attempts || !retriable) throw error;
      await sleep(5 + Math.random() * 20 * attempt);
    }
  }
}
