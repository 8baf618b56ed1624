import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { prepareDatabase } from './prepare-database';
import { messageOf } from '../shared/infra-errors';

/** `npm run db:seed`: migrate, then add the demo products that are missing (idempotent). */
const config = loadConfig();
prepareDatabase(config, createLogger({ level: config.logLevel, service: 'seed' }), 'always').catch(
  (error: unknown) => {
    console.error(messageOf(error));
    process.exit(1);
  },
);
