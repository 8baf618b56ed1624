import { randomBytes } from 'node:crypto';
import { QueueKeys } from 'bullmq';
import type { Redis } from 'ioredis';
import { topSellersKey, refreshTopSellers } from '../../shared/catalog/top-sellers';
import { loadConfig } from '../../shared/config';
import { createLogger } from '../../shared/logger';
import { createQueues } from '../../shared/queues';
import { CHARGES_QUEUE } from '../../shared/queues/charges';
import { EVENTS_QUEUE } from '../../shared/queues/events';
import { ORDERS_QUEUE, orderJobId, type OrderJob } from '../../shared/queues/orders';
import { createRedis } from '../../shared/redis';
import { createRequestRecords } from '../../shared/requests/records';
import { testRedisUrl } from '../harness/env';
import { singleLayout } from '../harness/queues';
import { crc16, keySlot } from './support';

/**
 * Redis Cluster readiness: a multi-key command or script (BullMQ's Lua scripts, our idempotency
 * reservation) only runs when all its keys are in one hash slot. A hash-tagged REDIS_PREFIX
 * such as `{shop}` puts every key this system writes in the slot of `shop`.
 */
describe('A hash-tagged REDIS_PREFIX for Redis Cluster', () => {
  test('the slot function matches the Redis Cluster specification', () => {
    expect(crc16('123456789')).toBe(0x31c3);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    // An empty tag does not count: the whole key is hashed.
    expect(keySlot('foo{}{bar}')).toBe(crc16('foo{}{bar}') % 16384);
  });

  test('When REDIS_PREFIX is {shop}, then the configuration accepts it', () => {
    expect(loadConfig({ REDIS_PREFIX: '{shop}' }).redis.prefix).toBe('{shop}');
  });

  test('When the prefix is {shop}, then queue, status, idempotency and catalog keys share a slot', () => {
    const prefix = '{shop}';
    const keys = [
      ...[CHARGES_QUEUE, ORDERS_QUEUE, EVENTS_QUEUE].flatMap((queue) =>
        Object.values(new QueueKeys(prefix).getKeys(queue)),
      ),
      `${prefix}:status:order:0195f0c2-0000-7000-8000-000000000000`,
      `${prefix}:idem:order:42:${'a'.repeat(64)}`,
      `${prefix}:catalog:product:1`,
      topSellersKey(prefix),
    ];
    expect(new Set(keys.map(keySlot))).toEqual(new Set([keySlot('shop')]));
    // Without the tag, one queue's own keys are already spread over several slots.
    const untagged = Object.values(new QueueKeys('shop').getKeys(ORDERS_QUEUE)).map(keySlot);
    expect(new Set(untagged).size).toBeGreaterThan(1);
  });

  describe('against the real Redis', () => {
    const tag = `deploy-${randomBytes(4).toString('hex')}`;
    const prefix = `{${tag}}`;
    const logger = createLogger({ level: 'error', service: 'test' });
    let redis: Redis;

    beforeAll(() => {
      redis = createRedis(testRedisUrl(), 'worker', logger);
    });

    afterAll(async () => {
      const keys = await redis.keys(`*${tag}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });

    test('When an order is accepted, queued and the ranking refreshed, then every key written carries the tag', async () => {
      const queues = createQueues(
        redis,
        singleLayout(prefix),
        { attempts: 1, backoffMs: 1_000 },
        logger,
      );
      const records = createRequestRecords(redis, singleLayout(prefix));
      const orderId = '0195f0c2-0000-7000-8000-000000000001';
      try {
        await records.reserveMany([
          {
            kind: 'order',
            userId: 42,
            key: 'key-1',
            fingerprint: 'fingerprint',
            id: orderId,
            acceptedAt: new Date().toISOString(),
            pendingView: { status: 'PENDING' },
          },
        ]);
        const job: OrderJob = {
          orderId,
          userId: 42,
          items: [{ productId: 1, quantity: 1 }],
          idempotencyKey: 'key-1',
          acceptedAt: new Date().toISOString(),
        };
        await queues.orders.forUser(42).add('order', job, { jobId: orderJobId(orderId) });
        await refreshTopSellers(redis, prefix, { topSellers: () => Promise.resolve([]) }, 30_000);
      } finally {
        await queues.close();
      }
      const written = await redis.keys(`*${tag}*`);
      expect(written.length).toBeGreaterThan(3);
      for (const key of written) expect(key.startsWith(`${prefix}:`)).toBe(true);
      expect(new Set(written.map(keySlot)).size).toBe(1);
    });
  });
});
