import { createJsonCache } from '../../api/catalog/json-cache';
import { createTestContext, type TestContext } from '../harness/context';
import { eventually } from '../harness/wait';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx.destroy();
});

const cacheOver = (name: string) =>
  createJsonCache({
    redis: ctx.redis,
    keyPrefix: `${ctx.config.redis.prefix}:${name}:`,
    localTtlMs: 60_000,
    redisTtlMs: 60_000,
    staleIfErrorMs: 0,
  });

/** A loader the test answers by hand, to land a write in the middle of a load. */
function heldLoader() {
  let answer: ((value: unknown) => void) | undefined;
  return {
    load: () =>
      new Promise<unknown>((resolve) => {
        answer = resolve;
      }),
    started: () => answer !== undefined,
    answer: (value: unknown) => answer?.(value),
  };
}

describe('The catalog cache under an operator write', () => {
  it('When a write is put while a load of the same key is in flight, then the load answers the written view and does not overwrite it here or in Redis', async () => {
    const cache = cacheOver('overtaken');
    const loader = heldLoader();
    const pending = cache.get('product:1', loader.load);
    await eventually('the load reached the database', loader.started, 5_000);
    await cache.put('product:1', '{"stock":11}');
    loader.answer({ stock: 1 });
    expect((await pending).json).toBe('{"stock":11}');
    expect(cache.peek('product:1')).toBe('{"stock":11}');
    expect(await ctx.redis.get(`${ctx.config.redis.prefix}:overtaken:product:1`)).toBe(
      '{"stock":11}',
    );
  });

  it('When a Redis copy predates a write, then a read that skips shared copies loads and replaces it', async () => {
    const cache = cacheOver('skip');
    const key = `${ctx.config.redis.prefix}:skip:list:0:20`;
    await ctx.redis.set(key, '{"old":true}', 'PX', 60_000);
    const fresh = await cache.get('list:0:20', () => Promise.resolve({ old: false }), false);
    expect(fresh.json).toBe('{"old":false}');
    expect(await ctx.redis.get(key)).toBe('{"old":false}');
  });
});
