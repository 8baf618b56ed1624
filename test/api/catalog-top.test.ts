import type { TopProducts } from '../../shared/catalog/top-sellers';
import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { clearShop, hoursAgo, insertOrder, insertProducts } from '../harness/builders';
import { request } from '../harness/http';

/**
 * The ranking is cached per app for up to a minute, so every scenario here seeds the database
 * first and then asks a freshly built app (whose cache is empty).
 */
let ctx: TestContext;
let api: RunningApi | undefined;

beforeAll(async () => {
  ctx = await createTestContext();
});

beforeEach(async () => {
  await clearShop(ctx.sequelize);
});

afterEach(async () => {
  await api?.close();
  api = undefined;
});

afterAll(async () => {
  await ctx.destroy();
});

async function fetchTop(): Promise<TopProducts> {
  api = await startApi(ctx);
  const response = await request<TopProducts>(api.baseUrl, 'GET', '/api/products/top');
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return response.body;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('GET /api/products/top', () => {
  it('When nothing was ever sold, then it answers an empty ranking over a 72 h window', async () => {
    await insertProducts(ctx.sequelize, [{ id: 1 }, { id: 2 }]);
    const before = Date.now();
    const top = await fetchTop();
    expect(top).toEqual({ windowHours: 72, generatedAt: expect.stringMatching(ISO), products: [] });
    const generatedAt = Date.parse(top.generatedAt);
    expect(generatedAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(generatedAt).toBeLessThanOrEqual(Date.now() + 1_000);
  });

  it('When only FAILED, unpaid or older-than-72 h orders exist, then the ranking is empty', async () => {
    await insertProducts(ctx.sequelize, [{ id: 1 }, { id: 2 }, { id: 3 }]);
    const items = (productId: number) => [{ productId, quantity: 9, unitPrice: 100 }];
    await insertOrder(ctx.sequelize, { status: 'FAILED', items: items(1) });
    await insertOrder(ctx.sequelize, { status: 'PENDING', items: items(2) });
    await insertOrder(ctx.sequelize, { status: 'PROCESSING', items: items(2) });
    await insertOrder(ctx.sequelize, { status: 'ON_HOLD', items: items(2) });
    await insertOrder(ctx.sequelize, { status: 'PAID', paidAt: hoursAgo(73), items: items(3) });
    expect((await fetchTop()).products).toEqual([]);
  });

  it('When products sold in PAID orders, then they rank by quantity desc, then productId asc, at most 5', async () => {
    await insertProducts(
      ctx.sequelize,
      [1, 2, 3, 4, 5, 6, 7].map((id) => ({ id, name: `Item ${id}` })),
    );
    // Product 1: 10 units over two orders at different prices; ties with product 3.
    await insertOrder(ctx.sequelize, {
      userId: 1,
      items: [
        { productId: 1, quantity: 4, unitPrice: 1000 },
        { productId: 3, quantity: 10, unitPrice: 100 },
      ],
    });
    await insertOrder(ctx.sequelize, {
      userId: 2,
      items: [{ productId: 1, quantity: 6, unitPrice: 1200 }],
    });
    // Products 5 and 2 tie at 7 units: the lower id ranks first.
    await insertOrder(ctx.sequelize, {
      items: [
        { productId: 5, quantity: 7, unitPrice: 50 },
        { productId: 2, quantity: 7, unitPrice: 300 },
      ],
    });
    // Product 4: 3 units now and 2 paid 71 h ago (inside the window).
    await insertOrder(ctx.sequelize, { items: [{ productId: 4, quantity: 3, unitPrice: 10 }] });
    await insertOrder(ctx.sequelize, {
      paidAt: hoursAgo(71),
      items: [{ productId: 4, quantity: 2, unitPrice: 20 }],
    });
    // Product 6 sells 1 unit in the window: sixth place, so it is cut off.
    await insertOrder(ctx.sequelize, { items: [{ productId: 6, quantity: 1, unitPrice: 10 }] });
    // None of these count, although they would top the ranking if they did.
    await insertOrder(ctx.sequelize, {
      paidAt: hoursAgo(73),
      items: [{ productId: 6, quantity: 90, unitPrice: 10 }],
    });
    await insertOrder(ctx.sequelize, {
      status: 'FAILED',
      items: [{ productId: 7, quantity: 100, unitPrice: 10 }],
    });
    await insertOrder(ctx.sequelize, {
      status: 'PENDING',
      items: [{ productId: 7, quantity: 50, unitPrice: 10 }],
    });

    const top = await fetchTop();
    expect(top.windowHours).toBe(72);
    expect(top.generatedAt).toMatch(ISO);
    expect(top.products).toEqual([
      { rank: 1, productId: 1, name: 'Item 1', soldQuantity: 10, revenue: 4 * 1000 + 6 * 1200 },
      { rank: 2, productId: 3, name: 'Item 3', soldQuantity: 10, revenue: 1000 },
      { rank: 3, productId: 2, name: 'Item 2', soldQuantity: 7, revenue: 2100 },
      { rank: 4, productId: 5, name: 'Item 5', soldQuantity: 7, revenue: 350 },
      { rank: 5, productId: 4, name: 'Item 4', soldQuantity: 5, revenue: 3 * 10 + 2 * 20 },
    ]);
  });

  it('When fewer than 5 products sold, then only those are ranked', async () => {
    await insertProducts(ctx.sequelize, [{ id: 10, name: 'Lamp' }, { id: 20 }]);
    await insertOrder(ctx.sequelize, { items: [{ productId: 10, quantity: 2, unitPrice: 15000 }] });
    expect((await fetchTop()).products).toEqual([
      { rank: 1, productId: 10, name: 'Lamp', soldQuantity: 2, revenue: 30000 },
    ]);
  });
});
