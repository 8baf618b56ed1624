import type { OrderView } from '../../shared/views';
import { reconcile } from '../../shared/db/reconcile';
import { expectProblem, request } from '../harness/http';
import {
  fund,
  insertProduct,
  newKey,
  submitOrder,
  usePipelineWorld,
  waitForFinal,
} from '../harness/pipeline';

const world = usePipelineWorld();

/** The contract's order body, as the API returns it. */
type OrderBody = OrderView;

const stockOf = async (id: number): Promise<number> => {
  const [rows] = await world.ctx.sequelize.query('SELECT stock FROM products WHERE id = ?', {
    replacements: [id],
  });
  return (rows as { stock: number }[])[0]?.stock ?? -1;
};

const balanceOf = async (token: string): Promise<number> =>
  (await request<{ balance: number }>(world.api.baseUrl, 'GET', '/api/balance', { token })).body
    .balance;

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 1000, stock: 100 });
  await insertProduct(world.ctx, { id: 2, price: 2500, stock: 5 });
  await insertProduct(world.ctx, { id: 3, price: 0, stock: 10 });
});

describe('POST /api/orders', () => {
  it('When an order is paid, then stock and balance drop by exactly its items and the order shows unit prices, subtotals and paidAt', async () => {
    const token = await world.ctx.tokenFor(201);
    await fund(world.api.baseUrl, token, 10_000);
    const submitted = await submitOrder(world.api.baseUrl, token, [
      { productId: 2, quantity: 2 },
      { productId: 1, quantity: 3 },
    ]);
    expect(submitted.status).toBe(202);
    const order = await waitForFinal<OrderBody>(world.api.baseUrl, token, submitted.statusUrl);
    expect(order).toEqual({
      orderId: submitted.id,
      userId: 201,
      status: 'PAID',
      items: [
        { productId: 1, quantity: 3, unitPrice: 1000, subtotal: 3000 },
        { productId: 2, quantity: 2, unitPrice: 2500, subtotal: 5000 },
      ],
      totalAmount: 8000,
      failureCode: null,
      createdAt: expect.any(String),
      paidAt: expect.any(String),
      cancelledAt: null,
      refundedAmount: null,
      updatedAt: expect.any(String),
    });
    expect(await balanceOf(token)).toBe(2000);
    expect(await stockOf(1)).toBe(97);
    expect(await stockOf(2)).toBe(3);
  });

  it('When one item is short of stock, then nothing is deducted (all or nothing) and the order FAILS with INSUFFICIENT_STOCK', async () => {
    const token = await world.ctx.tokenFor(202);
    await fund(world.api.baseUrl, token, 100_000);
    const submitted = await submitOrder(world.api.baseUrl, token, [
      { productId: 1, quantity: 1 },
      { productId: 2, quantity: 50 },
    ]);
    const order = await waitForFinal<OrderBody>(world.api.baseUrl, token, submitted.statusUrl);
    expect(order).toMatchObject({
      status: 'FAILED',
      failureCode: 'INSUFFICIENT_STOCK',
      paidAt: null,
    });
    expect(await balanceOf(token)).toBe(100_000);
    expect(await stockOf(1)).toBe(97);
  });

  it('When the balance does not cover the total, then it FAILS with INSUFFICIENT_BALANCE and no stock moves', async () => {
    const token = await world.ctx.tokenFor(203);
    await fund(world.api.baseUrl, token, 999);
    const submitted = await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
    const order = await waitForFinal<OrderBody>(world.api.baseUrl, token, submitted.statusUrl);
    expect(order).toMatchObject({
      status: 'FAILED',
      failureCode: 'INSUFFICIENT_BALANCE',
      totalAmount: 1000,
    });
    expect(await balanceOf(token)).toBe(999);
    expect(await stockOf(1)).toBe(97);
  });

  it('When a user who was never charged orders, then it FAILS with INSUFFICIENT_BALANCE', async () => {
    const token = await world.ctx.tokenFor(204);
    const submitted = await submitOrder(world.api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
    expect(
      await waitForFinal<OrderBody>(world.api.baseUrl, token, submitted.statusUrl),
    ).toMatchObject({
      status: 'FAILED',
      failureCode: 'INSUFFICIENT_BALANCE',
    });
  });

  it('When a product does not exist, then it FAILS with PRODUCT_NOT_FOUND', async () => {
    const token = await world.ctx.tokenFor(205);
    await fund(world.api.baseUrl, token, 10_000);
    const submitted = await submitOrder(world.api.baseUrl, token, [
      { productId: 1, quantity: 1 },
      { productId: 999, quantity: 1 },
    ]);
    expect(
      await waitForFinal<OrderBody>(world.api.baseUrl, token, submitted.statusUrl),
    ).toMatchObject({
      status: 'FAILED',
      failureCode: 'PRODUCT_NOT_FOUND',
    });
    expect(await balanceOf(token)).toBe(10_000);
  });

  it('When a product costs nothing, then a user with no balance can still order it', async () => {
    const token = await world.ctx.tokenFor(206);
    const submitted = await submitOrder(world.api.baseUrl, token, [{ productId: 3, quantity: 2 }]);
    expect(
      await waitForFinal<OrderBody>(world.api.baseUrl, token, submitted.statusUrl),
    ).toMatchObject({
      status: 'PAID',
      totalAmount: 0,
    });
  });

  it('When the price changes before processing, then the order uses the price at processing time', async () => {
    const token = await world.ctx.tokenFor(207);
    await fund(world.api.baseUrl, token, 10_000);
    await insertProduct(world.ctx, { id: 4, price: 100, stock: 10 });
    await world.ctx.sequelize.query('UPDATE products SET price = 300 WHERE id = 4');
    const submitted = await submitOrder(world.api.baseUrl, token, [{ productId: 4, quantity: 2 }]);
    expect(
      await waitForFinal<OrderBody>(world.api.baseUrl, token, submitted.statusUrl),
    ).toMatchObject({
      status: 'PAID',
      items: [{ productId: 4, quantity: 2, unitPrice: 300, subtotal: 600 }],
      totalAmount: 600,
    });
  });

  it.each([
    ['no items', { items: [] }, 'body.items'],
    [
      '51 items',
      { items: Array.from({ length: 51 }, (_, i) => ({ productId: i + 1, quantity: 1 })) },
      'body.items',
    ],
    [
      'a repeated productId',
      {
        items: [
          { productId: 1, quantity: 1 },
          { productId: 1, quantity: 2 },
        ],
      },
      'body.items.1.productId',
    ],
    ['quantity 0', { items: [{ productId: 1, quantity: 0 }] }, 'body.items.0.quantity'],
    ['quantity 101', { items: [{ productId: 1, quantity: 101 }] }, 'body.items.0.quantity'],
    ['quantity 1.5', { items: [{ productId: 1, quantity: 1.5 }] }, 'body.items.0.quantity'],
    ['productId "1"', { items: [{ productId: '1', quantity: 1 }] }, 'body.items.0.productId'],
    ['productId -3', { items: [{ productId: -3, quantity: 1 }] }, 'body.items.0.productId'],
    ['an unknown field', { items: [{ productId: 1, quantity: 1 }], coupon: 'FREE' }, 'body'],
    ['items not a list', { items: { productId: 1 } }, 'body.items'],
  ])(
    'When the order has %s, then it answers 400 VALIDATION_FAILED naming the field',
    async (_label, body, path) => {
      const token = await world.ctx.tokenFor(208);
      const response = await request(world.api.baseUrl, 'POST', '/api/orders', {
        token,
        body,
        headers: { 'idempotency-key': newKey() },
      });
      const problem = expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(problem.errors?.map((e) => e.path)).toContain(path);
    },
  );
});

describe('GET /api/orders/:orderId and GET /api/orders', () => {
  it('When another user asks for an order, then it answers 404 ORDER_NOT_FOUND', async () => {
    const owner = await world.ctx.tokenFor(209);
    const submitted = await submitOrder(world.api.baseUrl, owner, [{ productId: 1, quantity: 1 }]);
    await waitForFinal(world.api.baseUrl, owner, submitted.statusUrl);
    const stranger = await world.ctx.tokenFor(210);
    expectProblem(
      await request(world.api.baseUrl, 'GET', submitted.statusUrl, { token: stranger }),
      404,
      'ORDER_NOT_FOUND',
    );
    const list = await request<{ items: unknown[] }>(world.api.baseUrl, 'GET', '/api/orders', {
      token: stranger,
    });
    expect(list.body.items).toEqual([]);
  });

  it('When a user has several orders, then the list pages through them newest first, each exactly once', async () => {
    const token = await world.ctx.tokenFor(211);
    await fund(world.api.baseUrl, token, 100_000);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const submitted = await submitOrder(world.api.baseUrl, token, [
        { productId: 1, quantity: 1 },
      ]);
      await waitForFinal(world.api.baseUrl, token, submitted.statusUrl);
      ids.push(submitted.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const path: string = `/api/orders?limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await request<{ items: OrderBody[]; nextCursor: string | null }>(
        world.api.baseUrl,
        'GET',
        path,
        { token },
      );
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((o) => o.orderId));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());
  });

  it.each(['limit=0', 'limit=101', 'limit=x', 'cursor=nope', 'cursor=djE6Mg'])(
    'When the list query is %s, then it answers 400 VALIDATION_FAILED',
    async (query) => {
      const token = await world.ctx.tokenFor(212);
      expectProblem(
        await request(world.api.baseUrl, 'GET', `/api/orders?${query}`, { token }),
        400,
        'VALIDATION_FAILED',
      );
    },
  );

  it('After all of the above, every invariant holds', async () => {
    const checks = await reconcile(world.ctx.sequelize);
    expect(checks.filter((c) => c.violations.length > 0)).toEqual([]);
  });
});
