import type { RequestListener } from 'node:http';
import { fastProductReads } from '../../api/catalog/fast-reads';
import { createRequestObserver } from '../../api/http/observe';
import { securityHeaders } from '../../api/http/security-headers';
import { createLogger } from '../../shared/logger';
import { createMetrics } from '../../shared/metrics';
import { clearShop, insertProducts } from '../harness/builders';
import { serve, useApiWorld, type RunningApi } from '../harness/context';
import { rawRequest, type HttpResponse } from '../harness/http';

const world = useApiWorld();

/** Headers that differ between any two responses. */
const VARYING = new Set(['date', 'x-request-id']);
const comparable = (response: HttpResponse) => ({
  status: response.status,
  body: response.text,
  headers: Object.fromEntries([...response.headers].filter(([name]) => !VARYING.has(name))),
});

describe('The hot read path answers exactly as the Express route', () => {
  beforeEach(async () => {
    await clearShop(world.ctx.sequelize);
    await insertProducts(world.ctx.sequelize, [{ id: 7, name: 'Kettle', price: 2_500, stock: 3 }]);
    await world.restartApi();
  });

  it('When a product is read cold (Express, then cached) and again warm (fast path), then status, body and headers are the same', async () => {
    const cold = await rawRequest(world.api.baseUrl, { method: 'GET', path: '/api/products/7' });
    const warm = await rawRequest(world.api.baseUrl, { method: 'GET', path: '/api/products/7' });
    expect(cold.status).toBe(200);
    expect(comparable(warm)).toEqual(comparable(cold));
    expect(warm.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(warm.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('When a warm read carries a sane X-Request-Id, then it is echoed back', async () => {
    await rawRequest(world.api.baseUrl, { method: 'GET', path: '/api/products/7' });
    const warm = await rawRequest(world.api.baseUrl, {
      method: 'GET',
      path: '/api/products/7',
      headers: { 'x-request-id': 'trace-42' },
    });
    expect(warm.headers.get('x-request-id')).toBe('trace-42');
  });

  it('When warm reads are served, then they are counted in the request histogram like any other', async () => {
    await rawRequest(world.api.baseUrl, { method: 'GET', path: '/api/products/7' });
    const count = async () => {
      const metrics = await rawRequest(world.api.baseUrl, { method: 'GET', path: '/metrics' });
      const line = metrics.text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('shop_http_request_duration_seconds_count{') &&
            l.includes('route="/api/products/:productId"') &&
            l.includes('status="200"'),
        );
      return Number(line?.split(' ').at(-1) ?? 0);
    };
    const before = await count();
    for (let i = 0; i < 5; i++) {
      await rawRequest(world.api.baseUrl, { method: 'GET', path: '/api/products/7' });
    }
    expect((await count()) - before).toBe(5);
  });
});

describe('What the hot read path leaves to Express', () => {
  let server: RunningApi;
  const passedOn: string[] = [];

  beforeAll(async () => {
    const next: RequestListener = (req, res) => {
      passedOn.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.writeHead(299).end();
    };
    const cached = new Map([[7, '{"id":7}']]);
    server = await serve(
      fastProductReads(
        {
          cachedProduct: (id) => cached.get(id),
          observer: createRequestObserver(
            createLogger({ level: 'error', service: 'test' }),
            createMetrics('api'),
          ),
          headers: securityHeaders(),
        },
        next,
      ),
    );
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    passedOn.length = 0;
  });

  it('When a cached product is read plainly, then the fast path answers it', async () => {
    const response = await rawRequest(server.baseUrl, { method: 'GET', path: '/api/products/7' });
    expect(response.status).toBe(200);
    expect(response.text).toBe('{"id":7}');
    expect(passedOn).toEqual([]);
  });

  it.each([
    ['an uncached product', 'GET', '/api/products/8', {}, undefined],
    ['a query string', 'GET', '/api/products/7?x=1', {}, undefined],
    ['a trailing slash', 'GET', '/api/products/7/', {}, undefined],
    ['a leading zero', 'GET', '/api/products/07', {}, undefined],
    ['an id past the safe integers', 'GET', '/api/products/9999999999999999', {}, undefined],
    ['HEAD', 'HEAD', '/api/products/7', {}, undefined],
    ['POST', 'POST', '/api/products/7', { 'content-length': '0' }, undefined],
    ['If-None-Match', 'GET', '/api/products/7', { 'if-none-match': '*' }, undefined],
    ['If-Modified-Since', 'GET', '/api/products/7', { 'if-modified-since': 'x' }, undefined],
    [
      'a body',
      'GET',
      '/api/products/7',
      { 'content-type': 'application/json', 'content-length': '5' },
      '{"a":',
    ],
  ])(
    'When the request has %s, then Express answers it',
    async (_what, method, path, headers, body: string | undefined) => {
      const response = await rawRequest(server.baseUrl, {
        method,
        path,
        headers,
        ...(body === undefined ? {} : { chunks: [body] }),
      });
      expect(response.status).toBe(299);
      expect(passedOn).toEqual([`${method} ${path}`]);
    },
  );
});
