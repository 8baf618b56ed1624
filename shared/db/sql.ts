import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';

export interface WriteResult {
  affectedRows: number;
  /** For `SET x = LAST_INSERT_ID(expr)` updates: the new value of `expr`. */
  insertId: number;
}

/** Runs a write and returns mysql2's result header (affected rows, insert id). */
export async function write(
  sequelize: Sequelize,
  sql: string,
  replacements: unknown[],
  transaction?: Transaction,
): Promise<WriteResult> {
  const [header] = (await sequelize.query(sql, {
    replacements,
    ...(transaction ? { transaction } : {}),
  })) as unknown as [WriteResult, unknown];
  return { affectedRows: header.affectedRows, insertId: header.insertId };
}

export async function select<T extends object>(
  sequelize: Sequelize,
  sql: string,
  replacements: unknown[],
  transaction?: Transaction,
): Promise<T[]> {
  return sequelize.query<T>(sql, {
    replacements,
    type: QueryTypes.SELECT,
    ...(transaction ? { transaction } : {}),
  });
}

/** MySQL/MariaDB error number of a failed query, if any (e.g. 1062 duplicate key). */
export function sqlErrno(error: unknown): number | undefined {
  const errno = driverError(error)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** The mysql2 error under Sequelize's wrapper (whose own message is just "Validation error"). */
function driverError(error: unknown): { errno?: unknown } | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as { parent?: object }).parent ?? error;
}

export const ER_DUP_ENTRY = 1062;
export const ER_LOCK_DEADLOCK = 1213;
export const ER_LOCK_WAIT_TIMEOUT = 1205;

/**
 * How an INSERT into a table with unique keys ended: the row is in, or a unique key already
 * holds its values. Which key, and whose row, is for the caller to look up by the columns it
 * cares about (by id, by user and idempotency key): the server's message text is not an API.
 */
export type InsertOutcome = 'inserted' | 'duplicate';

/**
 * Runs an INSERT whose duplicate is an expected outcome: a duplicate key (errno 1062) is
 * returned, every other error thrown. Inside a transaction only the statement is undone; the
 * caller decides whether the transaction goes on or rolls back.
 */
export async function insertUnlessDuplicate(
  sequelize: Sequelize,
  sql: string,
  replacements: unknown[],
  transaction?: Transaction,
): Promise<InsertOutcome> {
  try {
    await write(sequelize, sql, replacements, transaction);
    return 'inserted';
  } catch (error) {
    if (sqlErrno(error) === ER_DUP_ENTRY) return 'duplicate';
    throw error;
  }
}

/** A Date as DATETIME(3) text in UTC; passing Date objects would drop the milliseconds. */
export function sqlDateTime(date: Date): string {
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

export function sqlDateTimeOrNull(date: Date | null): string | null {
  return date === null ? null : sqlDateTime(date);
}
