import mysql2 from 'mysql2';
import mysql from 'mysql2/promise';
import { Sequelize } from 'sequelize';
import type { Config } from '../config';
import type { Logger } from '../logger';

export interface DbOptions {
  poolMax: number;
  /** Milliseconds to wait for a TCP connection before failing fast. */
  connectTimeoutMs?: number;
  /** InnoDB lock wait per statement, in seconds (server default 50). */
  lockWaitTimeoutS?: number;
  logger?: Logger;
}

/** A Sequelize instance over mysql2. Whoever creates it closes it (`sequelize.close()`). */
export function createSequelize(url: string, options: DbOptions): Sequelize {
  const sequelize = new Sequelize(url, {
    dialect: 'mysql',
    dialectModule: mysql2,
    logging: options.logger ? (sql: string) => options.logger?.debug('sql', { sql }) : false,
    timezone: '+00:00',
    benchmark: false,
    pool: { max: options.poolMax, min: 0, acquire: 10_000, idle: 30_000, evict: 10_000 },
    dialectOptions: {
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      // BIGINT money and ids are returned as numbers: every value the system stores stays far
      // below 2^53 (balances are capped at 10^12), and the contract speaks JSON numbers.
      supportBigNumbers: true,
      bigNumberStrings: false,
      decimalNumbers: true,
      dateStrings: false,
    },
    define: { underscored: true, freezeTableName: true },
  });
  const lockWait = options.lockWaitTimeoutS;
  if (lockWait !== undefined) {
    // Lock waits must end before the breaker gives up on a transaction (see config).
    sequelize.addHook('afterConnect', (connection: unknown) => {
      return new Promise<void>((resolve, reject) => {
        (connection as mysql2.Connection).query(
          `SET SESSION innodb_lock_wait_timeout = ${Math.trunc(lockWait)}`,
          (error) => {
            if (error) reject(error);
            else resolve();
          },
        );
      });
    });
  }
  return sequelize;
}

export function createSequelizeFromConfig(config: Config, logger?: Logger): Sequelize {
  return createSequelize(config.database.url, {
    poolMax: config.database.poolMax,
    lockWaitTimeoutS: config.lockWaitTimeoutS,
    ...(logger ? { logger } : {}),
  });
}

/** Connections a process keeps to the read replica: only catalog reads that miss the cache. */
const REPLICA_POOL_MAX = 5;

/**
 * The read replica's connection (`DATABASE_REPLICA_URL`), or undefined without one: a small
 * pool of its own, and a short connect timeout so a dead replica is given up on quickly (reads
 * then go to the primary). Whoever creates it closes it.
 */
export function createReplicaSequelizeFromConfig(
  config: Config,
  logger?: Logger,
): Sequelize | undefined {
  const { url } = config.database.replica;
  if (url === undefined) return undefined;
  return createSequelize(url, {
    poolMax: Math.min(REPLICA_POOL_MAX, config.database.poolMax),
    connectTimeoutMs: 2_000,
    ...(logger ? { logger } : {}),
  });
}

/** Creates the database named in `url` if it does not exist yet (needs CREATE privilege). */
export async function ensureDatabase(url: string): Promise<void> {
  const parsed = new URL(url);
  const name = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  parsed.pathname = '/';
  const connection = await mysql.createConnection({
    uri: parsed.toString(),
    connectTimeout: 5_000,
  });
  try {
    await connection.query(
      `CREATE DATABASE IF NOT EXISTS \`${name.replace(/`/g, '')}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
  } finally {
    await connection.end();
  }
}
