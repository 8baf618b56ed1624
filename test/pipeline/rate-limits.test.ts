import { setTimeout as sleep } from 'node:timers/promises';
import { uuidv7 } from '../../shared/ids';
import { createRequestRecords, fingerprint } from '../../shared/requests/records';
import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { expectProblem, request } from '../harness/http';
import { newKey, submitCharge, submitOrder } from '../harness/pipeline';

/**
 * RATE_LIMIT_PER_MINUTE: counted per user across API processes (two apps over one Redis here),
 * a rolling window kept in the accept's own script, an exact Retry-After, replays never counted.
 * No workers run: only what the API accepts matters.
 */
let ctx: TestContext;
let apis: RunningApi[];

beforeAll(async () => {
  ctx = await createTestContext({ RATE_LIMIT_PER_MINUTE: '3' });
  apis = [await startApi(ctx), await startApi(ctx)];
});

afterAll(async () => {
  await Promise.all(apis.map((api) => api.close()));
  await ctx.destroy();
});

const [first, second] = [() => apis[0]?.baseUrl ?? '', () => apis[1]?.baseUrl ?? ''];

async function refusals(baseUrl: string): Promise<number> {
  const text = (await request(baseUrl, 'GET', '/metrics')).text;
  const line = text
    .split('\n')
    .filter((l) => l.startsWith('shop_rate_limit_refusals_total{'))
    .map((l) => Number(l.split(' ').at(-1)));
  return line.reduce((a, b) => a + b, 0);
}

describe('Per-user rate limits (RATE_LIMIT_PER_MINUTE)', () => {
  it('When a user sends more new requests in a minute than the limit, over two API processes, then the next is 429 RATE_LIMITED with Retry-After and nothing is accepted', async () => {
    const token = await ctx.tokenFor(401);
    const started = Date.now();
    expect((await submitCharge(first(), token, 100)).status).toBe(202);
    expect((await submitOrder(second(), token, [{ productId: 1, quantity: 1 }])).status).toBe(202);
    expect((await submitCharge(second(), token, 100)).status).toBe(202);
    const before = await refusals(first());

    const key = newKey('over');
    const refused = await request(first(), 'POST', '/api/charges', {
      token,
      body: { amount: 100 },
      headers: { 'idempotency-key': key },
    });
    const problem = expectProblem(refused, 429, 'RATE_LIMITED');
    expect(problem.detail).toMatch(/retry in \d+ s/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    // The oldest of the three frees its slot 60 s after it was counted, in whole seconds.
    const elapsedS = (Date.now() - started) / 1_000;
    expect(retryAfter).toBeGreaterThanOrEqual(Math.floor(60 - elapsedS));
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(await refusals(first())).toBe(before + 1);
    // Nothing was accepted: the key is still unused.
    const records = createRequestRecords(ctx.redis, ctx.config.redis);
    expect(await records.isKeyUsed('charge', 401, key)).toBe(false);

    // Another user is not limited by this one.
    expect((await submitCharge(first(), await ctx.tokenFor(402), 100)).status).toBe(202);
  });

  it('When a user at the limit replays an accepted request, then it gets its first answer (replays never count)', async () => {
    const token = await ctx.tokenFor(403);
    const key = newKey('replayed');
    const original = await submitCharge(first(), token, 100, key);
    expect(original.status).toBe(202);
    expect((await submitCharge(first(), token, 100)).status).toBe(202);
    expect((await submitCharge(second(), token, 100)).status).toBe(202);
    for (const baseUrl of [first(), second(), first()]) {
      const replay = await submitCharge(baseUrl, token, 100, key);
      expect(replay).toMatchObject({ status: 202, id: original.id, replayed: true });
    }
    expectProblem(
      await request(second(), 'POST', '/api/charges', {
        token,
        body: { amount: 100 },
        headers: { 'idempotency-key': newKey() },
      }),
      429,
      'RATE_LIMITED',
    );
  });

  it('When the window rolls, then a slot frees exactly when the oldest request leaves it: no double burst at a boundary', async () => {
    // The same script with a 4 s window, so the test need not wait out a minute.
    const records = createRequestRecords(ctx.redis, ctx.config.redis);
    const rate = { perWindow: 3, windowMs: 4_000 };
    const reserve = async () => {
      const [answer] = await records.reserveMany(
        [
          {
            kind: 'charge',
            userId: 404,
            key: newKey('window'),
            fingerprint: fingerprint({ amount: 1 }),
            id: uuidv7(),
            acceptedAtMs: Date.now(),
            pendingView: {},
          },
        ],
        rate,
      );
      return answer;
    };
    const firstSent = Date.now();
    expect(await reserve()).toEqual({ reserved: true });
    const firstAnswered = Date.now();
    await sleep(1_600);
    expect(await reserve()).toEqual({ reserved: true });
    expect(await reserve()).toEqual({ reserved: true });
    const fullSent = Date.now();
    const full = await reserve();
    const fullAnswered = Date.now();
    expect(full).toMatchObject({ reserved: false, refused: 'rate' });
    const waitMs = full?.reserved === false && full.refused === 'rate' ? full.retryAfterMs : 0;
    // The first slot frees one window after it was taken; Redis and this process share a
    // clock, so the wait lies between what the send and answer times allow, however slow.
    expect(waitMs).toBeGreaterThanOrEqual(firstSent + rate.windowMs - fullAnswered - 1);
    expect(waitMs).toBeLessThanOrEqual(firstAnswered + rate.windowMs - fullSent + 1);
    await sleep(waitMs + 50);
    // One slot came back (the oldest), not a whole new window: a fixed bucket would allow 3.
    expect(await reserve()).toEqual({ reserved: true });
    expect(await reserve()).toMatchObject({ reserved: false, refused: 'rate' });
  });
});
