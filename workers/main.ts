import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../shared/infra-errors';
import { loadConfig } from '../shared/config';
import {
  createReplicaSequelizeFromConfig,
  createSequelizeFromConfig,
} from '../shared/db/sequelize';
import { createLogger } from '../shared/logger';
import { onShutdownSignal } from '../shared/process';
import { createRedisClient } from '../shared/redis';
import { createRequestRecords } from '../shared/requests/records';
import { startMetricsServer, type MetricsServer } from './metrics-server';
import { startWorkers, type RunningWorkers } from './wiring';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, service: 'workers' });
  const sequelize = createSequelizeFromConfig(config);
  const replica = createReplicaSequelizeFromConfig(config);
  const redis = createRedisClient(config.redis, 'worker', logger);

  const state: { running?: RunningWorkers; metrics?: MetricsServer; stopping: boolean } = {
    stopping: false,
  };
  // Signals are handled from the start: a SIGTERM while connecting still shuts down cleanly.
  onShutdownSignal(logger, config.shutdownTimeoutMs, async () => {
    state.stopping = true;
    // Stop taking jobs and let the active ones finish; a job cut off by the timeout is
    // picked up again by another worker (stalled-job recovery) and applied at most once.
    await state.running?.close();
    await state.metrics?.close();
    await Promise.allSettled([sequelize.close(), replica?.close(), redis.quit()]);
  });

  // A worker started during an outage waits for its dependencies instead of crash-looping.
  for (let attempt = 1; !state.stopping; attempt++) {
    try {
      await sequelize.authenticate();
      await redis.ping();
      break;
    } catch (error) {
      logger.warn('waiting for the database and Redis', {
        attempt,
        error: messageOf(error),
      });
      await sleep(Math.min(attempt * 500, 5_000));
    }
  }
  if (state.stopping) return;
  const running = startWorkers({
    config,
    logger,
    sequelize,
    replica,
    connection: redis,
    records: createRequestRecords(redis, config.redis),
  });
  state.running = running;
  state.metrics = await startMetricsServer(
    running.metrics.registry,
    config.worker.metricsPort,
    () => {
      logger.warn('metrics port taken: using a free one (see metricsPort)', {
        wanted: config.worker.metricsPort,
      });
    },
  );
  logger.info('workers started', {
    queues: running.workers().map((w) => w.name),
    concurrency: config.worker.concurrency,
    metricsPort: state.metrics.port,
  });
}

main().catch((error: unknown) => {
  console.error(messageOf(error));
  process.exit(1);
});
