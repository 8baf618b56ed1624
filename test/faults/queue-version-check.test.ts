import { Redis } from 'ioredis';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { createQueues } from '../../shared/queues';
import { DedicatedRedis } from '../harness/redis';

/**
 * BullMQ asks a queue's connection for INFO once, at construction, to check Redis's version,
 * and keeps a failure for the queue's lifetime: every add of that queue fails until a
 * restart. The API's producer queues skip that check (`shared/queues/index.ts`). A Redis
 * that refuses INFO makes a queue that still checks fail every add, here at once.
 */
describe('Producer queues and a Redis whose INFO fails', () => {
  let server: DedicatedRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await DedicatedRedis.start({
      appendfsync: 'everysec',
      args: ['--rename-command', 'INFO', ''],
    });
    // ioredis's own ready check is an INFO too.
    redis = new Redis(server.url, { enableReadyCheck: false, maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    await redis.quit();
    await server.destroy();
  });

  it('When the server refuses INFO, then the version check fails but every producer queue (charges, orders, cancellations, events; every partition) still adds jobs', async () => {
    await expect(redis.info()).rejects.toThrow(/unknown command/i);
    const config = loadConfig({
      DATABASE_URL: 'mysql://root@127.0.0.1:3306/unused',
      REDIS_URL: server.url,
      JWT_SECRET: 'queue-version-check-secret-0123456789',
      QUEUE_PARTITIONS: '2',
    });
    const logger = createLogger({ level: 'error', service: 'test', silent: true });
    const queues = createQueues(redis, config.redis, config.jobs, logger);
    try {
      const names = queues.all().map((queue) => queue.name);
      expect(new Set(names)).toEqual(new Set(['charges', 'orders', 'cancellations', 'events']));
      expect(names).toHaveLength(7);
      const refused: string[] = [];
      for (const queue of queues.all()) {
        const job = await queue.add('probe', { probe: true }).catch(() => undefined);
        if (job?.id === undefined) refused.push(queue.qualifiedName);
      }
      expect(refused).toEqual([]);
    } finally {
      await queues.close();
    }
  });
});
