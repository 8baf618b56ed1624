import mysql from 'mysql2/promise';
import type { Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug, type MigrationFn } from 'umzug';
import type { Logger } from '../logger';
import { migration as initialSchema } from './migrations/0001-initial-schema';
import { migration as eventsRelayIndex } from './migrations/0002-order-events-relay-index';
import { migration as cancellationsAndRestocks } from './migrations/0003-cancellations-and-restocks';
import { migration as productSalesHourly } from './migrations/0004-product-sales-hourly';

export type Migration = MigrationFn<Sequelize>;

/** Every migration, in order. Listed explicitly so the compiled build needs no globbing. */
const migrations = [initialSchema, eventsRelayIndex, cancellationsAndRestocks, productSalesHourly];

export function createMigrator(sequelize: Sequelize, logger?: Logger): Umzug<Sequelize> {
  return new Umzug({
    migrations,
    context: sequelize,
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations' }),
    logger: logger
      ? {
          info: (event) => logger.info('migration', event),
          warn: (event) => logger.warn('migration', event),
          error: (event) => logger.error('migration', event),
          debug: (event) => logger.debug('migration', event),
        }
      : undefined,
  });
}

/**
 * Applies every pending migration. Processes starting at once take turns: a named lock, held
 * on a connection of its own (the pool could hand each query a different one), serialises them.
 */
export async function migrate(
  sequelize: Sequelize,
  databaseUrl: string,
  logger?: Logger,
): Promise<string[]> {
  const lock = await mysql.createConnection({ uri: databaseUrl, connectTimeout: 5_000 });
  try {
    const [rows] = await lock.query<mysql.RowDataPacket[]>(
      "SELECT GET_LOCK('shop_migrations', 120) AS locked",
    );
    if (rows[0]?.locked !== 1) throw new Error('Timed out waiting for the migration lock');
    const applied = await createMigrator(sequelize, logger).up();
    return applied.map((m) => m.name);
  } finally {
    await lock.end();
  }
}
