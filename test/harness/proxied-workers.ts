import { createSequelize } from '../../shared/db/sequelize';
import { createRedisClient } from '../../shared/redis';
import { createRequestRecords } from '../../shared/requests/records';
import { startWorkers, type RunningWorkers, type WorkerOptions } from '../../workers/wiring';
import type { TestContext } from './context';
import { FaultProxy } from './fault-proxy';

export interface ProxiedWorkers {
  /** Between the workers and MariaDB: `cut` it to take the database away from them alone. */
  proxy: FaultProxy;
  workers: RunningWorkers;
  /** Stops the workers and closes what this made: their clients and the proxy. */
  close(): Promise<void>;
}

/**
 * In-process workers whose database sits behind a {@link FaultProxy}; the API and the test
 * keep talking to the database directly. Short connect and lock-wait timeouts, so a cut shows
 * within a second.
 */
export async function startProxiedWorkers(
  ctx: TestContext,
  options: WorkerOptions = {},
): Promise<ProxiedWorkers> {
  const url = new URL(ctx.config.database.url);
  const proxy = await FaultProxy.start(Number(url.port || 3306));
  url.port = String(proxy.port);
  const sequelize = createSequelize(url.toString(), {
    poolMax: 20,
    connectTimeoutMs: 500,
    lockWaitTimeoutS: 5,
  });
  const redis = createRedisClient(ctx.config.redis, 'worker', ctx.logger);
  const workers = startWorkers(
    {
      config: ctx.config,
      logger: ctx.logger,
      sequelize,
      connection: redis,
      records: createRequestRecords(redis, ctx.config.redis),
    },
    options,
  );
  return {
    proxy,
    workers,
    async close() {
      await workers.close();
      await redis.quit();
      await sequelize.close();
      await proxy.close();
    },
  };
}
