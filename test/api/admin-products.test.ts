import type { Sequelize } from 'sequelize';
import { reconcile } from '../../shared/db/reconcile';
import { createSequelize } from '../../shared/db/sequelize';
import { insertOrder, insertProducts } from '../harness/builders';
import { startApiOver, useApiWorld, type RunningApi } from '../harness/context';
import { expectProblem, request, type HttpResponse } from '../harness/http';
import { newKey } from '../harness/pipeline';
import { runBuilt, type RunningProcess } from '../harness/process';
import { eventually } from '../harness/wait';

const PASSWORD = 'operator-password-123';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const OPERATOR = { authorization: basic('admin', PASSWORD) };

const world = useApiWorld({ ADMIN_PASSWORD: PASSWORD });

interface Product {
  id: number;
  name: string;
  description: string;
  price: number;
  stock: number;
  updatedAt: string;
}

const admin = <T = Product>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  baseUrl = world.api.baseUrl,
): Promise<HttpResponse<T>> =>
  request<T>(baseUrl, method, path, {
    ...(body === undefined ? {} : { body }),
    headers: { ...OPERATOR, ...headers },
  });

const restock = (productId: number, quantity: unknown, key: string, baseUrl?: string) =>
  admin<{ productId: number; stock: number }>(
    'POST',
    `/admin/products/${productId}/restock`,
    { quantity },
    { 'idempotency-key': key },
    baseUrl,
  );

const getProduct = (id: number, baseUrl = world.api.baseUrl) =>
  request<Product>(baseUrl, 'GET', `/api/products/${id}`);

const one = async (sql: string, replacements: unknown[] = []): Promise<number> => {
  const [rows] = await world.ctx.sequelize.query(sql, { replacements });
  return Number(Object.values((rows as Record<string, unknown>[])[0] ?? {})[0] ?? NaN);
};

/** Every row of the tables an operator's write may touch, to compare before and after. */
const snapshot = async () => {
  const [products] = await world.ctx.sequelize.query(
    'SELECT id, name, description, price, stock, stock_received, updated_at FROM products ORDER BY id',
  );
  const [restocks] = await world.ctx.sequelize.query('SELECT * FROM product_restocks ORDER BY id');
  return { products, restocks };
};

/** A product inserted in SQL, the way an operator would, after every product there is. */
async function seeded(stock = 10, price = 1_000): Promise<number> {
  const id = (await one('SELECT COALESCE(MAX(id), 0) FROM products')) + 1;
  await insertProducts(world.ctx.sequelize, [{ id, stock, price }]);
  return id;
}

describe('Admin authentication on /admin/products', () => {
  let closed: RunningApi;

  beforeAll(async () => {
    const { ctx } = world;
    const config = { ...ctx.config, admin: { ...ctx.config.admin, password: undefined } };
    closed = await startApiOver({ ...ctx, config });
  });

  afterAll(async () => {
    await closed.close();
  });

  const writes = (id: number) => [
    { method: 'POST', path: '/admin/products', body: { name: 'X', price: 1, stock: 1 } },
    { method: 'PATCH', path: `/admin/products/${id}`, body: { price: 5 } },
    { method: 'POST', path: `/admin/products/${id}/restock`, body: { quantity: 5 } },
  ];

  it('When no ADMIN_PASSWORD is configured, then every write answers 401 with a Basic challenge, even with credentials, and nothing is written', async () => {
    const id = await seeded();
    const before = await snapshot();
    for (const write of writes(id)) {
      for (const headers of [{}, OPERATOR, { authorization: basic('admin', '') }]) {
        const response = await request(closed.baseUrl, write.method, write.path, {
          body: write.body,
          headers: { ...headers, 'idempotency-key': newKey() },
        });
        expectProblem(response, 401, 'UNAUTHENTICATED');
        expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('When the credentials are missing, wrong or not Basic, then every write answers 401 and nothing is written', async () => {
    const id = await seeded();
    const before = await snapshot();
    const wrong: Record<string, string>[] = [
      {},
      { authorization: basic('admin', 'wrong-password') },
      { authorization: basic('root', PASSWORD) },
      { authorization: `Bearer ${await world.ctx.tokenFor(1)}` },
      { authorization: 'Basic !!!' },
    ];
    for (const write of writes(id)) {
      for (const headers of wrong) {
        const response = await request(world.api.baseUrl, write.method, write.path, {
          body: write.body,
          headers: { ...headers, 'idempotency-key': newKey() },
        });
        expectProblem(response, 401, 'UNAUTHENTICATED');
        expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('When a browser on another site sends a write with valid credentials, then it is refused', async () => {
    const id = await seeded();
    const before = await snapshot();
    const response = await admin(
      'PATCH',
      `/admin/products/${id}`,
      { price: 1 },
      {
        origin: 'https://evil.example',
        'sec-fetch-site': 'cross-site',
      },
    );
    expectProblem(response, 401, 'UNAUTHENTICATED');
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(await snapshot()).toEqual(before);
  });
});

describe('POST /admin/products', () => {
  it('When an operator creates a product, then it answers 201 with the product as GET shows it and its URL in Location', async () => {
    const created = await admin('POST', '/admin/products', {
      name: 'Green tea',
      description: 'Loose leaf, 100 g',
      price: 12_000,
      stock: 40,
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(Number),
      name: 'Green tea',
      description: 'Loose leaf, 100 g',
      price: 12_000,
      stock: 40,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(created.headers.get('location')).toBe(`/api/products/${created.body.id}`);
    const shown = await getProduct(created.body.id);
    expect(shown.status).toBe(200);
    expect(shown.body).toEqual(created.body);
    expect(await one('SELECT stock_received FROM products WHERE id = ?', [created.body.id])).toBe(
      40,
    );
  });

  it('When the description is left out, then the product has an empty one', async () => {
    const created = await admin('POST', '/admin/products', { name: 'Plain', price: 0, stock: 0 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Plain', description: '', price: 0, stock: 0 });
  });

  it('When a product was cached as unknown, then the process that created it shows it at once', async () => {
    const next = (await one('SELECT COALESCE(MAX(id), 0) FROM products')) + 1;
    expectProblem(await getProduct(next), 404, 'PRODUCT_NOT_FOUND');
    const created = await admin('POST', '/admin/products', { name: 'Fresh', price: 5, stock: 5 });
    expect(created.body.id).toBe(next);
    expect((await getProduct(next)).status).toBe(200);
  });

  it.each([
    ['no body', undefined],
    ['an empty object', {}],
    ['no name', { price: 1, stock: 1 }],
    ['an empty name', { name: '', price: 1, stock: 1 }],
    ['a blank name', { name: '   ', price: 1, stock: 1 }],
    ['a name of 201 characters', { name: 'n'.repeat(201), price: 1, stock: 1 }],
    [
      'a description of 2,001 characters',
      { name: 'a', description: 'd'.repeat(2_001), price: 1, stock: 1 },
    ],
    ['a null description', { name: 'a', description: null, price: 1, stock: 1 }],
    ['a negative price', { name: 'a', price: -1, stock: 1 }],
    ['a fractional price', { name: 'a', price: 1.5, stock: 1 }],
    ['a price over 10^12', { name: 'a', price: 1_000_000_000_001, stock: 1 }],
    ['a price as a string', { name: 'a', price: '100', stock: 1 }],
    ['no stock', { name: 'a', price: 1 }],
    ['a negative stock', { name: 'a', price: 1, stock: -1 }],
    ['a stock over 10^9', { name: 'a', price: 1, stock: 1_000_000_001 }],
    ['an id', { id: 7, name: 'a', price: 1, stock: 1 }],
    ['an unknown field', { name: 'a', price: 1, stock: 1, soldQuantity: 3 }],
    ['an array', [{ name: 'a', price: 1, stock: 1 }]],
  ])(
    'When the body has %s, then it answers 400 VALIDATION_FAILED and creates nothing',
    async (_what, body) => {
      const before = await snapshot();
      const response = await admin('POST', '/admin/products', body);
      const problem = expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(problem.errors?.length).toBeGreaterThan(0);
      expect(await snapshot()).toEqual(before);
    },
  );

  it('When the body is not JSON or not application/json, then it answers 400 INVALID_JSON or 415 and creates nothing', async () => {
    const before = await snapshot();
    expectProblem(await admin('POST', '/admin/products', '{"name":'), 400, 'INVALID_JSON');
    const text = await request(world.api.baseUrl, 'POST', '/admin/products', {
      body: '{"name":"a","price":1,"stock":1}',
      headers: { ...OPERATOR, 'content-type': 'text/plain' },
    });
    expectProblem(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(await snapshot()).toEqual(before);
  });
});

describe('PATCH /admin/products/:productId', () => {
  it('When an operator changes the name, description and price, then it answers 200 with the product and GET shows it at once', async () => {
    const id = await seeded(7, 1_000);
    // The old view is now held by this process and in Redis.
    expect((await getProduct(id)).body.price).toBe(1_000);
    const changed = await admin('PATCH', `/admin/products/${id}`, {
      name: 'Renamed',
      description: 'New words',
      price: 2_500,
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      id,
      name: 'Renamed',
      description: 'New words',
      price: 2_500,
      stock: 7,
    });
    expect((await getProduct(id)).body).toEqual(changed.body);
  });

  it('When only the price is given, then the other fields keep their values', async () => {
    const id = await seeded(3, 800);
    const before = (await getProduct(id)).body;
    const changed = await admin('PATCH', `/admin/products/${id}`, { price: 900 });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ ...before, price: 900, updatedAt: expect.any(String) });
  });

  it('When the product does not exist, then it answers 404 PRODUCT_NOT_FOUND and writes nothing', async () => {
    const before = await snapshot();
    expectProblem(
      await admin('PATCH', '/admin/products/999999', { price: 1 }),
      404,
      'PRODUCT_NOT_FOUND',
    );
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['an empty object', {}],
    ['stock', { stock: 100 }],
    ['stock beside a valid field', { price: 10, stock: 100 }],
    ['an empty name', { name: '' }],
    ['a null price', { price: null }],
    ['a price over 10^12', { price: 1_000_000_000_001 }],
    ['a description of 2,001 characters', { description: 'd'.repeat(2_001) }],
  ])(
    'When the body has %s, then it answers 400 VALIDATION_FAILED and writes nothing',
    async (_what, body) => {
      const id = await seeded();
      const before = await snapshot();
      expectProblem(await admin('PATCH', `/admin/products/${id}`, body), 400, 'VALIDATION_FAILED');
      expect(await snapshot()).toEqual(before);
    },
  );

  it.each(['0', '-1', 'abc', '1.5', '99999999999999999'])(
    'When the id is %s, then it answers 400 VALIDATION_FAILED',
    async (id) => {
      expectProblem(
        await admin('PATCH', `/admin/products/${id}`, { price: 1 }),
        400,
        'VALIDATION_FAILED',
      );
    },
  );
});

describe('POST /admin/products/:productId/restock', () => {
  it('When an operator restocks, then it answers 200 with the new stock, GET shows it at once, and conservation counts it', async () => {
    const id = await seeded(10);
    expect((await getProduct(id)).body.stock).toBe(10);
    const response = await restock(id, 25, newKey());
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ productId: id, stock: 35 });
    expect(response.headers.get('idempotent-replayed')).toBeNull();
    expect((await getProduct(id)).body.stock).toBe(35);
    expect(await one('SELECT stock_received FROM products WHERE id = ?', [id])).toBe(35);
    expect(await one('SELECT COUNT(*) FROM product_restocks WHERE product_id = ?', [id])).toBe(1);
  });

  it('When the same key and quantity come again, then the first answer is replayed and nothing is added twice', async () => {
    const id = await seeded(10);
    const key = newKey('restock');
    const first = await restock(id, 5, key);
    // Stock moves on in between (another restock): the replay still answers the first figure.
    await restock(id, 100, newKey());
    const again = await restock(id, 5, key);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await one('SELECT stock FROM products WHERE id = ?', [id])).toBe(115);
  });

  it('When the same key comes with another quantity or for another product, then it answers 422 IDEMPOTENCY_KEY_REUSED and adds nothing', async () => {
    const id = await seeded(10);
    const other = await seeded(10);
    const key = newKey('restock');
    await restock(id, 5, key);
    const before = await snapshot();
    expectProblem(await restock(id, 6, key), 422, 'IDEMPOTENCY_KEY_REUSED');
    expectProblem(await restock(other, 5, key), 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(await snapshot()).toEqual(before);
  });

  it('When the product does not exist, then it answers 404 PRODUCT_NOT_FOUND, records no key, and the key stays free', async () => {
    const key = newKey();
    const before = await snapshot();
    expectProblem(await restock(999_999, 5, key), 404, 'PRODUCT_NOT_FOUND');
    expect(await snapshot()).toEqual(before);
    const id = await seeded(1);
    expect((await restock(id, 5, key)).body).toEqual({ productId: id, stock: 6 });
  });

  it('When the restock would take the stock past 2,147,483,647, then it answers 400 naming body.quantity and adds nothing', async () => {
    const id = await seeded(2_147_000_000);
    const before = await snapshot();
    const problem = expectProblem(await restock(id, 1_000_000, newKey()), 400, 'VALIDATION_FAILED');
    expect(problem.errors?.map((e) => e.path)).toEqual(['body.quantity']);
    expect(await snapshot()).toEqual(before);
    expect((await restock(id, 483_647, newKey())).body.stock).toBe(2_147_483_647);
  });

  it.each([
    ['no Idempotency-Key', undefined],
    ['an empty Idempotency-Key', ''],
    ['an Idempotency-Key with a space', 'a b'],
    ['an Idempotency-Key of 256 characters', 'k'.repeat(256)],
  ])(
    'When the request has %s, then it answers 400 IDEMPOTENCY_KEY_REQUIRED and adds nothing',
    async (_what, key) => {
      const id = await seeded();
      const before = await snapshot();
      const response = await admin(
        'POST',
        `/admin/products/${id}/restock`,
        { quantity: 1 },
        key === undefined ? {} : { 'idempotency-key': key },
      );
      expectProblem(response, 400, 'IDEMPOTENCY_KEY_REQUIRED');
      expect(await snapshot()).toEqual(before);
    },
  );

  it.each([
    ['a quantity of 0', { quantity: 0 }],
    ['a negative quantity', { quantity: -5 }],
    ['a quantity over 1,000,000', { quantity: 1_000_001 }],
    ['a fractional quantity', { quantity: 1.5 }],
    ['a quantity as a string', { quantity: '5' }],
    ['no quantity', {}],
    ['a stock', { stock: 5 }],
    ['an unknown field', { quantity: 5, note: 'x' }],
  ])(
    'When the body has %s, then it answers 400 VALIDATION_FAILED and adds nothing',
    async (_what, body) => {
      const id = await seeded();
      const before = await snapshot();
      const response = await admin('POST', `/admin/products/${id}/restock`, body, {
        'idempotency-key': newKey(),
      });
      expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(await snapshot()).toEqual(before);
    },
  );

  it('When 20 requests with one key arrive at once at two API instances, then the stock grows once and all answer the same', async () => {
    const id = await seeded(0);
    const second = await startApiOver(world.ctx);
    try {
      const key = newKey('dup');
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          restock(id, 7, key, i % 2 === 0 ? world.api.baseUrl : second.baseUrl),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
      expect(new Set(answers.map((a) => JSON.stringify(a.body)))).toEqual(
        new Set([JSON.stringify({ productId: id, stock: 7 })]),
      );
      expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(
        19,
      );
      expect(await one('SELECT stock FROM products WHERE id = ?', [id])).toBe(7);
      expect(await one('SELECT COUNT(*) FROM product_restocks WHERE product_id = ?', [id])).toBe(1);
    } finally {
      await second.close();
    }
  });

  it('When 30 restocks with distinct keys race on one product, then every unit is counted once', async () => {
    const id = await seeded(0);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => restock(id, i + 1, newKey())),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const total = (30 * 31) / 2;
    // Each answer is the stock right after its own addition: all different, the last the total.
    expect(new Set(answers.map((a) => a.body.stock)).size).toBe(30);
    expect(Math.max(...answers.map((a) => a.body.stock))).toBe(total);
    expect(await one('SELECT stock FROM products WHERE id = ?', [id])).toBe(total);
  });

  it('When a restock was served by one API instance, then another shows it within 5 s', async () => {
    const id = await seeded(1);
    const second = await startApiOver(world.ctx);
    try {
      expect((await getProduct(id, second.baseUrl)).body.stock).toBe(1);
      await restock(id, 9, newKey());
      await eventually(
        'the other instance shows the restock',
        async () => (await getProduct(id, second.baseUrl)).body.stock === 10,
        5_000,
      );
    } finally {
      await second.close();
    }
  });

  it('When products are restocked through the API and in SQL, then every invariant still holds', async () => {
    const id = await seeded(10);
    await restock(id, 15, newKey());
    await world.ctx.sequelize.query('UPDATE products SET stock = stock + 4 WHERE id = ?', {
      replacements: [id],
    });
    await restock(id, 1, newKey());
    expect(await one('SELECT stock FROM products WHERE id = ?', [id])).toBe(30);
    const checks = await reconcile(world.ctx.sequelize);
    expect(checks.filter((c) => c.violations.length > 0)).toEqual([]);
  });
});

describe('Cached views after an operator write', () => {
  it('When a list page is cached here and in Redis, then the process that restocked shows the new stock in the list at once', async () => {
    const id = await seeded(4);
    const page = async () =>
      (
        await request<{ items: { id: number; stock: number }[] }>(
          world.api.baseUrl,
          'GET',
          `/api/products?limit=100&cursor=${Buffer.from(`v1:${id - 1}`).toString('base64url')}`,
        )
      ).body.items.find((p) => p.id === id)?.stock;
    expect(await page()).toBe(4);
    await restock(id, 6, newKey());
    expect(await page()).toBe(10);
  });

  it('When a best seller is renamed, then the process that renamed it shows the new name in the ranking at once', async () => {
    const id = await seeded(50, 300);
    // A sale written as rows only (no stock moved): removed again below, for the checks after.
    const orderId = await insertOrder(world.ctx.sequelize, {
      items: [{ productId: id, quantity: 100, unitPrice: 300 }],
    });
    const top = async () =>
      (
        await request<{ products: { productId: number; name: string }[] }>(
          world.api.baseUrl,
          'GET',
          '/api/products/top',
        )
      ).body.products.find((p) => p.productId === id)?.name;
    try {
      expect(await top()).toBe(`Product ${id}`);
      await admin('PATCH', `/admin/products/${id}`, { name: 'Best seller, renamed' });
      expect(await top()).toBe('Best seller, renamed');
    } finally {
      await world.ctx.sequelize.query('DELETE FROM orders WHERE id = ?', {
        replacements: [orderId],
      });
    }
  });
});

describe('While the database is unreachable', () => {
  let dead: Sequelize;
  let api: RunningApi;

  beforeAll(async () => {
    const url = new URL(world.ctx.config.database.url);
    // Nothing listens on port 1: every connection is refused at once.
    url.port = '1';
    dead = createSequelize(url.toString(), { poolMax: 2, connectTimeoutMs: 500 });
    api = await startApiOver({ ...world.ctx, sequelize: dead });
  });

  afterAll(async () => {
    await api.close();
    await dead.close();
  });

  it('When an operator writes, then every write answers 503 SERVICE_UNAVAILABLE with Retry-After, never 500', async () => {
    const answers = [
      await admin('POST', '/admin/products', { name: 'a', price: 1, stock: 1 }, {}, api.baseUrl),
      await admin('PATCH', '/admin/products/1', { price: 1 }, {}, api.baseUrl),
      await restock(1, 1, newKey(), api.baseUrl),
    ];
    for (const answer of answers) {
      expectProblem(answer, 503, 'SERVICE_UNAVAILABLE');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
  });
});

describe('Metrics', () => {
  it('When restocks are applied and replayed, then shop_product_restocks_total counts each once and the writes counter tells outcomes apart', async () => {
    const scrape = async () => (await request(world.api.baseUrl, 'GET', '/metrics')).text;
    const value = (text: string, series: string) =>
      Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const before = await scrape();
    const id = await seeded(0);
    const key = newKey();
    await restock(id, 3, key);
    await restock(id, 3, key);
    const after = await scrape();
    const restocks = 'shop_product_restocks_total{service="api"}';
    expect(value(after, restocks) - value(before, restocks)).toBe(1);
    const units = 'shop_product_restocked_units_total{service="api"}';
    expect(value(after, units) - value(before, units)).toBe(3);
    const replayed =
      'shop_product_admin_writes_total{operation="restock",outcome="replayed",service="api"}';
    expect(value(after, replayed) - value(before, replayed)).toBe(1);
  });
});

describe('Two real API processes', () => {
  const running: RunningProcess[] = [];

  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
  });

  it('When the same restock key is sent to two API processes at once, then it is applied once', async () => {
    const env = { ...world.ctx.env, ADMIN_PASSWORD: PASSWORD, PORT: '0', LOG_LEVEL: 'info' };
    const apis = await Promise.all(
      [0, 1].map(async () => {
        const api = runBuilt('api/main.js', [], env);
        running.push(api);
        const line = await api.waitForLog('api listening');
        return `http://127.0.0.1:${String(line.port)}`;
      }),
    );
    const id = await seeded(5);
    const key = newKey('two-processes');
    const answers = await Promise.all(
      Array.from({ length: 16 }, (_, i) => restock(id, 11, key, apis[i % 2])),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(16).fill(200));
    expect(answers.map((a) => a.body.stock)).toEqual(Array(16).fill(16));
    expect(await one('SELECT stock FROM products WHERE id = ?', [id])).toBe(16);
  }, 60_000);
});
