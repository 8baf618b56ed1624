import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { prepareDatabase } from './prepare-database';
import { messageOf } from '../shared/infra-errors';

/** `npm run db:migrate`: create the database if missing, apply pending migrations. */
const config = loadConfig();
prepareDatabase(
  config,
  createLogger({ level: config.logLevel, service: 'migrate' }),
  'never',
).catch((error: unknown) => {
  console.error(messageOf(error));
  process.exit(1);
});
