import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../shared/config';
import {
  createReplicaSequelizeFromConfig,
  createSequelizeFromConfig,
} from '../shared/db/sequelize';
import { createLogger } from '../shared/logger';
import { onShutdownSignal } from '../shared/process';
import { createQueues } from '../shared/queues';
import { createRedisClient } from '../shared/redis';
import { createApi } from './app';
import { buildAppDeps, stopAppDeps } from './wiring';
import { messageOf } from '../shared/infra-errors';

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeIdleConnections();
  });
}

const REDIS_START_WAIT_MS = 5_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, service: 'api' });
  const sequelize = createSequelizeFromConfig(config);
  const replica = createReplicaSequelizeFromConfig(config);
  const redis = createRedisClient(config.redis, 'command', logger, {
    commandTimeout: config.redisCommandTimeoutMs,
  });

  // Requests fail fast while Redis is down (no offline queue), so give the first connection a
  // moment before taking traffic; if Redis is down at start, start anyway and answer 503.
  if (redis.status !== 'ready') {
    await Promise.race([once(redis, 'ready').catch(() => undefined), sleep(REDIS_START_WAIT_MS)]);
  }

  const queues = createQueues(redis, config.redis, config.jobs, logger);
  const deps = buildAppDeps({ config, logger, sequelize, replica, redis, queues });
  const api = createApi(deps);
  const server = createServer(api.listener);
  server.listen(config.port, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info('api listening', { port, docs: `http://localhost:${port}/docs` });
  });
  server.keepAliveTimeout = 65_000;

  onShutdownSignal(logger, config.shutdownTimeoutMs, async () => {
    // Stop accepting, let in-flight requests finish, then release the clients we created.
    await closeServer(server);
    api.close();
    stopAppDeps(deps);
    await queues.close();
    await Promise.allSettled([sequelize.close(), replica?.close(), redis.quit()]);
  });
}

main().catch((error: unknown) => {
  console.error(messageOf(error));
  process.exit(1);
});
