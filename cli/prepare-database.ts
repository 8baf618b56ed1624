import type { Config } from '../shared/config';
import { migrate } from '../shared/db/migrator';
import { createProductsRepository } from '../shared/db/repositories/products';
import { seedDemoCatalog } from '../shared/db/seed';
import { createSequelizeFromConfig, ensureDatabase } from '../shared/db/sequelize';
import type { Logger } from '../shared/logger';

/** Creates the database if missing and applies migrations; seeds the demo catalog if asked. */
export async function prepareDatabase(
  config: Config,
  logger: Logger,
  seed: 'never' | 'when-empty' | 'always',
): Promise<void> {
  await ensureDatabase(config.database.url);
  const sequelize = createSequelizeFromConfig(config);
  try {
    const applied = await migrate(sequelize, config.database.url, logger);
    logger.info('database migrated', { database: config.database.name, applied });
    const empty = (await createProductsRepository(sequelize).count()) === 0;
    if (seed === 'always' || (seed === 'when-empty' && empty)) {
      const added = await seedDemoCatalog(sequelize);
      logger.info('demo catalog seeded', { added });
    }
  } finally {
    await sequelize.close();
  }
}
