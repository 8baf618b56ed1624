import { Cluster, type Redis } from 'ioredis';
import { keySlot, keyspaceOf } from '../../shared/keyspace';
import {
  usePipelineWorld,
  fund,
  insertProduct,
  submitOrder,
  waitForFinal,
} from '../harness/pipeline';

/**
 * The point of partitions on a cluster: with 16 partitions, every master holds queue keys and
 * serves the accepts and jobs of its partitions, instead of one slot (one master) taking all of
 * it. Runs in the `cluster` jest project only (its 6-node cluster: 3 masters, 3 replicas).
 */
const world = usePipelineWorld({ QUEUE_PARTITIONS: '16' });

/** Users 2001…2064: four users in each of the 16 partitions. */
const USERS = Array.from({ length: 64 }, (_, i) => 2_001 + i);
const ORDERS_PER_USER = 4;

function masters(): Redis[] {
  const { redis } = world.ctx;
  if (!(redis instanceof Cluster)) throw new Error('this file runs in the cluster project only');
  return redis.nodes('master');
}

const nameOf = (node: Redis) => `${node.options.host ?? ''}:${node.options.port ?? ''}`;

/** Calls per command since the node started (`INFO commandstats`). */
async function commandCalls(node: Redis): Promise<Map<string, number>> {
  const info = await node.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set(match[1] ?? '', Number(match[2]));
  }
  return calls;
}

const total = (calls: Map<string, number>) => [...calls.values()].reduce((a, b) => a + b, 0);

describe('Sixteen partitions on a three-master cluster', () => {
  it('When many users order through the API and workers, then every master holds queue keys of its partitions and serves their commands', async () => {
    const { ctx, api } = world;
    const keyspace = keyspaceOf(ctx.config.redis);
    expect(keyspace.partitions).toBe(16);
    await insertProduct(ctx, { id: 1, price: 100, stock: 100_000 });

    const nodes = masters();
    expect(nodes).toHaveLength(3);
    const before = new Map(
      await Promise.all(nodes.map(async (n) => [nameOf(n), await commandCalls(n)] as const)),
    );

    const tokens = await Promise.all(USERS.map((u) => ctx.tokenFor(u)));
    await Promise.all(tokens.map((token) => fund(api.baseUrl, token, 10_000)));
    const submitted = await Promise.all(
      tokens.flatMap((token) =>
        Array.from({ length: ORDERS_PER_USER }, () =>
          submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }]).then((s) => ({
            token,
            s,
          })),
        ),
      ),
    );
    expect(submitted.map(({ s }) => s.status)).toEqual(submitted.map(() => 202));
    const finals = await Promise.all(
      submitted.map(({ token, s }) =>
        waitForFinal(api.baseUrl, token, s.statusUrl, { timeoutMs: 30_000 }),
      ),
    );
    expect(new Set(finals.map((f) => f.status))).toEqual(new Set(['PAID']));

    // Which master serves each partition's slot, as the cluster's own slot map says.
    const { redis } = ctx;
    if (!(redis instanceof Cluster)) throw new Error('not a cluster');
    const partitionsOf = new Map<string, number[]>();
    for (const p of keyspace.all) {
      const owner = redis.slots[keySlot(keyspace.partition(p))]?.[0] ?? '';
      partitionsOf.set(owner, [...(partitionsOf.get(owner) ?? []), p]);
    }

    for (const node of nodes) {
      const name = nameOf(node);
      const mine = partitionsOf.get(name) ?? [];
      // 16 partitions over 3 equal slot ranges: 5 or 6 each.
      expect({ name, partitions: mine.length >= 5 }).toEqual({ name, partitions: true });

      // Every queue key of this file on this master belongs to one of its partitions, and
      // each of its partitions has an orders queue here.
      const keys = await node.keys(`${ctx.config.redis.prefix}:*`);
      const queueKeys = keys.filter((k) => k.includes(':orders:'));
      expect(queueKeys.length).toBeGreaterThan(0);
      for (const p of mine) {
        expect(queueKeys.some((k) => k.startsWith(`${keyspace.partition(p)}:orders:`))).toBe(true);
      }
      const strays = keys.filter(
        (key) =>
          /\{p\d/.test(key) && !mine.some((p) => key.startsWith(`${keyspace.partition(p)}:`)),
      );
      expect(strays).toEqual([]);

      // It served commands meanwhile: at least one script per accept and per job of the
      // orders its partitions received (other test files' commands only add to the count).
      const ordersHere = submitted.filter(({ token }) => {
        const user = USERS[tokens.indexOf(token)] ?? -1;
        return mine.includes(keyspace.partitionOf(user));
      }).length;
      expect(ordersHere).toBeGreaterThan(0);
      const after = await commandCalls(node);
      const served = total(after) - total(before.get(name) ?? new Map<string, number>());
      const scripts =
        (after.get('evalsha') ?? 0) -
        (before.get(name)?.get('evalsha') ?? 0) +
        (after.get('eval') ?? 0) -
        (before.get(name)?.get('eval') ?? 0);
      expect({ name, servedMoreThanOrders: served > ordersHere }).toEqual({
        name,
        servedMoreThanOrders: true,
      });
      expect(scripts).toBeGreaterThanOrEqual(ordersHere);
    }
  }, 90_000);
});
