import { useApiWorld } from '../harness/context';
import { clearShop, insertProducts } from '../harness/builders';
import { expectProblem, request } from '../harness/http';

const world = useApiWorld();

interface ProductPage {
  items: { id: number; name: string; price: number; stock: number }[];
  nextCursor: string | null;
}

const listPage = (query = '') =>
  request<ProductPage>(world.api.baseUrl, 'GET', `/api/products${query}`);

/** Follows nextCursor from the first page to the last; returns every page. */
async function walkCatalog(limit?: number): Promise<ProductPage[]> {
  const pages: ProductPage[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams();
    if (limit !== undefined) params.set('limit', String(limit));
    if (cursor !== null) params.set('cursor', cursor);
    const response = await listPage(params.size > 0 ? `?${params.toString()}` : '');
    expect(response.status).toBe(200);
    pages.push(response.body);
    cursor = response.body.nextCursor;
    if (pages.length > 100) throw new Error('nextCursor never became null');
  } while (cursor !== null);
  return pages;
}

/** Ids 3, 6, 9, ... so that pagination cannot rely on ids being contiguous. */
const spacedIds = (count: number) => Array.from({ length: count }, (_, i) => (i + 1) * 3);

describe('GET /api/products', () => {
  // Each case rewrites the catalog: start from a cold cache instead of waiting out its 5 s.
  beforeEach(async () => {
    await clearShop(world.ctx.sequelize);
    await world.restartApi();
  });

  it('When the catalog is empty, then it answers an empty page with nextCursor null', async () => {
    const response = await listPage();
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toEqual({ items: [], nextCursor: null });
  });

  it('When no limit is given, then pages hold 20 products and walk the catalog once, in id order', async () => {
    const ids = spacedIds(45);
    await insertProducts(
      world.ctx.sequelize,
      [...ids].reverse().map((id) => ({ id })),
    );
    const pages = await walkCatalog();
    expect(pages.map((p) => p.items.length)).toEqual([20, 20, 5]);
    expect(pages.flatMap((p) => p.items.map((item) => item.id))).toEqual(ids);
    expect(pages.at(-1)?.nextCursor).toBeNull();
  });

  it('When a limit is given, then every page but the last holds exactly that many products', async () => {
    const ids = spacedIds(17);
    await insertProducts(
      world.ctx.sequelize,
      ids.map((id) => ({ id })),
    );
    const pages = await walkCatalog(5);
    expect(pages.map((p) => p.items.length)).toEqual([5, 5, 5, 2]);
    expect(pages.flatMap((p) => p.items.map((item) => item.id))).toEqual(ids);
  });

  it('When the last page is exactly full, then its nextCursor is null and no empty page follows', async () => {
    await insertProducts(
      world.ctx.sequelize,
      spacedIds(6).map((id) => ({ id })),
    );
    const pages = await walkCatalog(3);
    expect(pages.map((p) => p.items.length)).toEqual([3, 3]);
    expect(pages[0]?.nextCursor).toEqual(expect.any(String));
    expect(pages[1]?.nextCursor).toBeNull();
  });

  it('When limit is 1 or 100, then it is accepted as the bound it is', async () => {
    await insertProducts(
      world.ctx.sequelize,
      spacedIds(101).map((id) => ({ id })),
    );
    const one = await listPage('?limit=1');
    expect(one.status).toBe(200);
    expect(one.body.items.map((item) => item.id)).toEqual([3]);
    const hundred = await listPage('?limit=100');
    expect(hundred.status).toBe(200);
    expect(hundred.body.items).toHaveLength(100);
    expect(hundred.body.nextCursor).toEqual(expect.any(String));
    const last = await listPage(`?limit=100&cursor=${hundred.body.nextCursor ?? ''}`);
    expect(last.body.items.map((item) => item.id)).toEqual([303]);
    expect(last.body.nextCursor).toBeNull();
  });

  it('When a page is served, then items carry exactly id, name, price and stock', async () => {
    await insertProducts(world.ctx.sequelize, [
      { id: 11, name: 'Mug', description: 'Ceramic', price: 8900, stock: 4 },
    ]);
    const response = await listPage();
    expect(response.body.items).toEqual([{ id: 11, name: 'Mug', price: 8900, stock: 4 }]);
  });

  it('When a nextCursor is returned, then it is an opaque URL-safe token, not the bare id', async () => {
    await insertProducts(
      world.ctx.sequelize,
      spacedIds(3).map((id) => ({ id })),
    );
    const response = await listPage('?limit=2');
    const cursor = response.body.nextCursor;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(cursor).not.toMatch(/^\d+$/);
  });

  it.each([
    ['0', '?limit=0'],
    ['101', '?limit=101'],
    ['abc', '?limit=abc'],
    ['1.5', '?limit=1.5'],
    ['-1', '?limit=-1'],
    ['repeated', '?limit=1&limit=2'],
  ])('When limit is %s, then it answers 400 VALIDATION_FAILED naming limit', async (_, query) => {
    const problem = expectProblem(await listPage(query), 400, 'VALIDATION_FAILED');
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { path: expect.stringContaining('limit'), message: expect.any(String) },
      ]),
    );
  });

  it.each([
    ['zzz', 'zzz'],
    ['base64 of junk', Buffer.from('{"junk":true}').toString('base64url')],
    ['base64 of a bare id', Buffer.from('5').toString('base64url')],
    ['not URL-safe', '%2B%2F%3D%3D'],
    ['absurdly long', 'A'.repeat(500)],
  ])(
    'When the cursor is %s, then it answers 400 VALIDATION_FAILED naming cursor',
    async (_, cursor) => {
      const problem = expectProblem(await listPage(`?cursor=${cursor}`), 400, 'VALIDATION_FAILED');
      expect(problem.errors).toEqual(
        expect.arrayContaining([
          { path: expect.stringContaining('cursor'), message: expect.any(String) },
        ]),
      );
    },
  );
});

describe('GET /api/products/:productId', () => {
  it('When the product was inserted with the contract SQL, then it returns its detail', async () => {
    await world.ctx.sequelize.query(
      "INSERT INTO products (id, name, description, price, stock) VALUES (7, 'Pen', 'Blue ink', 1500, 3)",
    );
    const response = await request(world.api.baseUrl, 'GET', '/api/products/7');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      id: 7,
      name: 'Pen',
      description: 'Blue ink',
      price: 1500,
      stock: 3,
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
  });

  it('When a product is restocked in SQL, then its detail shows the new stock within 5 s', async () => {
    await insertProducts(world.ctx.sequelize, [{ id: 8, stock: 2 }]);
    const before = await request<{ stock: number }>(world.api.baseUrl, 'GET', '/api/products/8');
    expect(before.body.stock).toBe(2);
    await world.ctx.sequelize.query('UPDATE products SET stock = stock + 5 WHERE id = 8');
    const deadline = Date.now() + 5_000;
    let stock = before.body.stock;
    while (stock !== 7 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      stock = (await request<{ stock: number }>(world.api.baseUrl, 'GET', '/api/products/8')).body
        .stock;
    }
    expect(stock).toBe(7);
  });

  it('When the product does not exist, then it answers 404 PRODUCT_NOT_FOUND', async () => {
    expectProblem(
      await request(world.api.baseUrl, 'GET', '/api/products/999999'),
      404,
      'PRODUCT_NOT_FOUND',
    );
  });

  it.each(['abc', '-1', '0', '1.5', '99999999999999999999', '9007199254740993', '1e3'])(
    'When the id is %s, then it answers 400 VALIDATION_FAILED naming productId',
    async (id) => {
      const problem = expectProblem(
        await request(world.api.baseUrl, 'GET', `/api/products/${id}`),
        400,
        'VALIDATION_FAILED',
      );
      expect(problem.errors).toEqual(
        expect.arrayContaining([
          { path: expect.stringContaining('productId'), message: expect.any(String) },
        ]),
      );
    },
  );
});
