import { request } from '../harness/http';
import {
  fund,
  insertProduct,
  newKey,
  runOps,
  submitOrder,
  usePipelineWorld,
  waitForFinal,
  type Submitted,
} from '../harness/pipeline';

const PASSWORD = 'operator-password-123';
const OPERATOR = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

const world = usePipelineWorld({ ADMIN_PASSWORD: PASSWORD, WORKER_CONCURRENCY: '16' });

const one = async (sql: string, replacements: unknown[] = []): Promise<number> => {
  const [rows] = await world.ctx.sequelize.query(sql, { replacements });
  return Number(Object.values((rows as Record<string, unknown>[])[0] ?? {})[0] ?? NaN);
};

const restock = (productId: number, quantity: number, key: string) =>
  request<{ productId: number; stock: number }>(
    world.api.baseUrl,
    'POST',
    `/admin/products/${productId}/restock`,
    { body: { quantity }, headers: { ...OPERATOR, 'idempotency-key': key } },
  );

describe('Restocks beside orders on the same product', () => {
  it('When restocks (API, repeated keys, SQL) race 120 orders for one product, then no unit is lost or counted twice and reconcile is clean', async () => {
    const productId = 1;
    await insertProduct(world.ctx, { id: productId, price: 100, stock: 20 });
    const buyers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => world.ctx.tokenFor(3_000 + i)),
    );
    await Promise.all(buyers.map((token) => fund(world.api.baseUrl, token, 10_000)));

    const orders: { token: string; submitted: Submitted }[] = [];
    const ordering = Promise.all(
      buyers.flatMap((token, b) =>
        Array.from({ length: 3 }, async (_, n) => {
          const quantity = 1 + ((b + n) % 2);
          const submitted = await submitOrder(world.api.baseUrl, token, [{ productId, quantity }]);
          orders.push({ token, submitted });
        }),
      ),
    );
    // 20 restocks of 3 units, each key sent twice at once: 60 units, added once each.
    const keys = Array.from({ length: 20 }, () => newKey('restock'));
    const restocking = Promise.all(
      keys.flatMap((key) => [restock(productId, 3, key), restock(productId, 3, key)]),
    );
    const sqlRestock = world.ctx.sequelize.query(
      'UPDATE products SET stock = stock + 10 WHERE id = ?',
      { replacements: [productId] },
    );
    const [, restocks] = await Promise.all([ordering, restocking, sqlRestock]);

    expect(restocks.map((r) => r.status)).toEqual(Array(40).fill(200));
    for (let i = 0; i < keys.length; i++) {
      // The two answers to one key are the same answer.
      expect(restocks[2 * i]?.body).toEqual(restocks[2 * i + 1]?.body);
    }
    expect(await one('SELECT COUNT(*) FROM product_restocks')).toBe(20);

    expect(orders.every((o) => o.submitted.status === 202)).toBe(true);
    const finals = await Promise.all(
      orders.map((o) =>
        waitForFinal<{ status: string; failureCode: string | null }>(
          world.api.baseUrl,
          o.token,
          o.submitted.statusUrl,
          { timeoutMs: 60_000 },
        ),
      ),
    );
    expect(
      finals.every(
        (o) =>
          o.status === 'PAID' || (o.status === 'FAILED' && o.failureCode === 'INSUFFICIENT_STOCK'),
      ),
    ).toBe(true);
    const sold = await one(
      `SELECT COALESCE(SUM(oi.quantity), 0) FROM order_items oi
       JOIN orders o ON o.id = oi.order_id WHERE o.status = 'PAID' AND oi.product_id = ?`,
      [productId],
    );
    // 180 units ordered against 90 in all: some orders must have failed, none oversold.
    expect(sold).toBeGreaterThan(0);
    expect(sold).toBeLessThanOrEqual(20 + 60 + 10);
    expect(await one('SELECT stock FROM products WHERE id = ?', [productId])).toBe(
      20 + 60 + 10 - sold,
    );

    const reconcile = await runOps(world.ctx, 'reconcile');
    expect(reconcile.out).toContain('reconcile: every invariant holds');
    expect(reconcile.code).toBe(0);
  }, 120_000);
});
