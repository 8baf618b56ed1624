import { loadConfig } from '../../shared/config';
import { createKeyspace, partitionTag, SLOTS } from '../../shared/keyspace';
import { findKeys } from '../harness/keys';
import {
  fund,
  insertProduct,
  submitOrder,
  usePipelineWorld,
  waitForFinal,
} from '../harness/pipeline';
import { request } from '../harness/http';
import { crc16, keySlot } from './support';

/**
 * Redis Cluster readiness of the key layout (`shared/keyspace.ts`): a script or a BullMQ
 * command only runs on a cluster when all its keys are in one slot, and a cluster only adds
 * throughput when the keys spread over its masters. So each partition's queues and request
 * records share a hash tag of their own, tags chosen so that the partitions spread evenly over
 * the slot space, and concerns shared by every user (catalog, events, reconcile) have tags of
 * their own. No key is written outside a tag the design chose.
 */
describe('The key layout for a Redis Cluster', () => {
  test('the slot function matches the Redis Cluster specification', () => {
    expect(crc16('123456789')).toBe(0x31c3);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    // An empty tag does not count: the whole key is hashed.
    expect(keySlot('foo{}{bar}')).toBe(crc16('foo{}{bar}') % 16384);
  });

  test.each([1, 3, 16, 64, 256])(
    'When there are %i partitions, then partition p lies in the p-th equal share of the slots',
    (count) => {
      for (let p = 0; p < count; p++) {
        const slot = keySlot(`{${partitionTag(p, count)}}`);
        expect(slot).toBeGreaterThanOrEqual(Math.floor((p * SLOTS) / count));
        expect(slot).toBeLessThan(Math.floor(((p + 1) * SLOTS) / count));
      }
    },
  );

  test('When 16 partitions run on 3 masters with equal slot ranges, then each master serves 5 or 6 of them', () => {
    const keyspace = createKeyspace('shop', 16, true);
    const masterOf = (slot: number) => Math.floor((slot * 3) / SLOTS);
    const perMaster = [0, 0, 0];
    for (const p of keyspace.all) {
      const m = masterOf(keySlot(keyspace.partition(p)));
      perMaster[m] = (perMaster[m] ?? 0) + 1;
    }
    expect(perMaster.sort()).toEqual([5, 5, 6]);
  });

  test('When a cluster is configured, then a REDIS_PREFIX with braces is refused: the partitions bring the tags', () => {
    expect(() => createKeyspace('{shop}', 16, true).partition(0)).toThrow(
      /must not contain braces/,
    );
    expect(
      loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_PREFIX: 'shop' }).redis.partitions,
    ).toBe(16);
  });

  test('When there is one partition on a single Redis, then the keys are untagged as they always were', () => {
    const keyspace = createKeyspace('shop', 1, false);
    expect(keyspace.partition(0)).toBe('shop');
    expect(keyspace.shared('catalog')).toBe('shop');
  });

  describe('against the real Redis, with 16 partitions', () => {
    const world = usePipelineWorld({ QUEUE_PARTITIONS: '16' });

    test('When users charge, order and read the catalog, then every key written carries a partition or shared-concern tag and a partition keeps to one slot', async () => {
      const { ctx, api } = world;
      const prefix = ctx.config.redis.prefix;
      const keyspace = createKeyspace(prefix, 16, true);
      await insertProduct(ctx, { id: 1, price: 100, stock: 1_000 });
      const users = Array.from({ length: 32 }, (_, i) => 3_001 + i);
      await Promise.all(
        users.map(async (user) => {
          const token = await ctx.tokenFor(user);
          await fund(api.baseUrl, token, 1_000);
          const submitted = await submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
          expect(submitted.status).toBe(202);
          expect((await waitForFinal(api.baseUrl, token, submitted.statusUrl)).status).toBe('PAID');
        }),
      );
      expect((await request(api.baseUrl, 'GET', '/api/products/1')).status).toBe(200);

      const written = await findKeys(ctx.redis, `${prefix}:*`);
      const tags = new Map<string, string>([
        ...keyspace.all.map((p) => [keyspace.partition(p), `p${p}`] as const),
        ...(['catalog', 'events', 'reconcile'] as const).map(
          (c) => [keyspace.shared(c), c] as const,
        ),
      ]);
      const untagged = written.filter(
        (key) => ![...tags.keys()].some((base) => key.startsWith(`${base}:`)),
      );
      expect(untagged).toEqual([]);

      // Every partition got work (two users each), and each keeps its keys in one slot.
      const partitionKeys = keyspace.all.map((p) =>
        written.filter((key) => key.startsWith(`${keyspace.partition(p)}:`)),
      );
      for (const [p, keys] of partitionKeys.entries()) {
        expect({ p, orders: keys.some((k) => k.includes(':orders:')) }).toEqual({
          p,
          orders: true,
        });
        expect(new Set(keys.map(keySlot))).toEqual(new Set([keySlot(keyspace.partition(p))]));
      }
      expect(written.some((k) => k.startsWith(`${keyspace.shared('catalog')}:`))).toBe(true);
    });
  });
});
