import { reconcile } from '../../shared/db/reconcile';
import { expectProblem, request } from '../harness/http';
import {
  insertProduct,
  newKey,
  submitCharge,
  submitOrder,
  usePipelineWorld,
  waitForFinal,
} from '../harness/pipeline';
import { findKeys, userBase } from '../harness/keys';

const world = usePipelineWorld();

const count = async (sql: string, replacements: unknown[]): Promise<number> => {
  const [rows] = await world.ctx.sequelize.query(sql, { replacements });
  return (rows as { n: number }[])[0]?.n ?? 0;
};

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 100, stock: 1000 });
});

describe('Idempotency-Key', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['256 characters', 'k'.repeat(256)],
    ['with a space', 'a b'],
    ['non-ASCII', 'caf\u00e9'],
  ])(
    'When the key is %s, then it answers 400 IDEMPOTENCY_KEY_REQUIRED and accepts nothing',
    async (_label, key) => {
      const token = await world.ctx.tokenFor(301);
      for (const [path, body] of [
        ['/api/charges', { amount: 10 }],
        ['/api/orders', { items: [{ productId: 1, quantity: 1 }] }],
      ] as const) {
        const response = await request(world.api.baseUrl, 'POST', path, {
          token,
          body,
          headers: key === undefined ? {} : { 'idempotency-key': key },
        });
        expectProblem(response, 400, 'IDEMPOTENCY_KEY_REQUIRED');
      }
      expect(await findKeys(world.ctx.redis, `${world.ctx.config.redis.prefix}:*status:*`)).toEqual(
        [],
      );
    },
  );

  it('When the same key and body are sent again, then the first response comes back with Idempotent-Replayed and nothing is charged twice', async () => {
    const token = await world.ctx.tokenFor(302);
    const key = newKey();
    const first = await submitCharge(world.api.baseUrl, token, 700, key);
    await waitForFinal(world.api.baseUrl, token, first.statusUrl);
    const again = await submitCharge(world.api.baseUrl, token, 700, key);
    expect(again).toEqual({ ...first, replayed: true });
    expect(first.replayed).toBe(false);
    const balance = await request<{ balance: number }>(world.api.baseUrl, 'GET', '/api/balance', {
      token,
    });
    expect(balance.body.balance).toBe(700);
  });

  it('When the same key comes with a different body, then it answers 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const token = await world.ctx.tokenFor(303);
    const key = newKey();
    await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }], key);
    const response = await request(world.api.baseUrl, 'POST', '/api/orders', {
      token,
      body: { items: [{ productId: 1, quantity: 2 }] },
      headers: { 'idempotency-key': key },
    });
    expectProblem(response, 422, 'IDEMPOTENCY_KEY_REUSED');
  });

  it('When the body differs only in key order, then it is the same request', async () => {
    const token = await world.ctx.tokenFor(304);
    const key = newKey();
    const first = await request<{ orderId: string }>(world.api.baseUrl, 'POST', '/api/orders', {
      token,
      body: '{"items":[{"productId":1,"quantity":2}]}',
      headers: { 'idempotency-key': key },
    });
    const second = await request<{ orderId: string }>(world.api.baseUrl, 'POST', '/api/orders', {
      token,
      body: '{ "items": [ { "quantity": 2, "productId": 1 } ] }',
      headers: { 'idempotency-key': key },
    });
    expect(second.status).toBe(202);
    expect(second.body.orderId).toBe(first.body.orderId);
  });

  it('When two users or two endpoints use the same key, then they are independent requests', async () => {
    const key = newKey();
    const alice = await world.ctx.tokenFor(305);
    const bob = await world.ctx.tokenFor(306);
    const a = await submitCharge(world.api.baseUrl, alice, 10, key);
    const b = await submitCharge(world.api.baseUrl, bob, 10, key);
    const o = await submitOrder(world.api.baseUrl, alice, [{ productId: 1, quantity: 1 }], key);
    expect(new Set([a.id, b.id, o.id]).size).toBe(3);
    expect([a.replayed, b.replayed, o.replayed]).toEqual([false, false, false]);
  });

  it('When 50 requests with one key race, then all get the same order id and exactly one order is applied', async () => {
    const token = await world.ctx.tokenFor(307);
    const charge = await submitCharge(world.api.baseUrl, token, 10_000);
    await waitForFinal(world.api.baseUrl, token, charge.statusUrl);
    const key = newKey();
    const responses = await Promise.all(
      Array.from({ length: 50 }, () =>
        submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 3 }], key),
      ),
    );
    expect(responses.every((r) => r.status === 202)).toBe(true);
    expect(new Set(responses.map((r) => r.id)).size).toBe(1);
    expect(responses.filter((r) => !r.replayed)).toHaveLength(1);
    const order = await waitForFinal<{ status: string }>(
      world.api.baseUrl,
      token,
      responses[0]?.statusUrl ?? '',
    );
    expect(order.status).toBe('PAID');
    expect(await count('SELECT COUNT(*) AS n FROM orders WHERE user_id = 307', [])).toBe(1);
    const balance = await request<{ balance: number }>(world.api.baseUrl, 'GET', '/api/balance', {
      token,
    });
    expect(balance.body.balance).toBe(10_000 - 300);
  });

  it('When the Redis idempotency record is lost, then the database still refuses a second application of the key', async () => {
    const token = await world.ctx.tokenFor(308);
    const charge = await submitCharge(world.api.baseUrl, token, 5_000);
    await waitForFinal(world.api.baseUrl, token, charge.statusUrl);
    const key = newKey();
    const first = await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }], key);
    await waitForFinal(world.api.baseUrl, token, first.statusUrl);
    const idemKeys = await findKeys(
      world.ctx.redis,
      `${userBase(world.ctx, 308)}:idem:order:308:*`,
    );
    expect(idemKeys).toHaveLength(1);
    await world.ctx.redis.del(...idemKeys);

    const second = await submitOrder(
      world.api.baseUrl,
      token,
      [{ productId: 1, quantity: 1 }],
      key,
    );
    expect(second.id).not.toBe(first.id);
    const resolved = await waitForFinal<{ orderId: string; status: string }>(
      world.api.baseUrl,
      token,
      second.statusUrl,
    );
    expect(resolved).toMatchObject({ orderId: first.id, status: 'PAID' });
    expect(await count('SELECT COUNT(*) AS n FROM orders WHERE user_id = 308', [])).toBe(1);
    const balance = await request<{ balance: number }>(world.api.baseUrl, 'GET', '/api/balance', {
      token,
    });
    expect(balance.body.balance).toBe(4_900);
  });

  it('After all of the above, every invariant holds', async () => {
    const checks = await reconcile(world.ctx.sequelize);
    expect(checks.filter((c) => c.violations.length > 0)).toEqual([]);
  });
});
