import { createApi } from '../../api/app';
import { buildAppDeps, stopAppDeps } from '../../api/wiring';
import { createQueues } from '../../shared/queues';
import { createRedisClient } from '../../shared/redis';
import { startApiOver, type RunningApi } from '../harness/context';
import { rawRequest, type HttpResponse, type RawRequest } from '../harness/http';
import { insertProduct, newKey, usePipelineWorld } from '../harness/pipeline';
import { allOf } from '../harness/queues';

/**
 * The fast lane (`api/fast-lane.ts`) answers exactly as Express does. Two APIs over the same
 * database and Redis, built by the composition `main.ts` serves (`createApi`): one with the
 * lane, one where Express serves everything. Every answer is compared: status, headers, body.
 */
const world = usePipelineWorld({}, { workers: false });
const USER = 31;
let token: string;
let express: RunningApi;

/** Status, body and headers, with what differs between any two answers (date, ids) blanked. */
function comparable(response: HttpResponse) {
  const ids = /[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  const headers = [...response.headers]
    .filter(([name]) => name !== 'date' && name !== 'x-request-id')
    .map(([name, value]) => [name, value.replace(ids, 'ID')]);
  return {
    status: response.status,
    body: response.text.replace(ids, 'ID'),
    headers: Object.fromEntries(headers),
  };
}

/** The same request to both APIs; each call makes its own Idempotency-Key unless given one. */
async function both(make: () => RawRequest): Promise<[HttpResponse, HttpResponse]> {
  const viaExpress = await rawRequest(express.baseUrl, make());
  const viaLane = await rawRequest(world.api.baseUrl, make());
  return [viaExpress, viaLane];
}

const ORDER = JSON.stringify({ items: [{ productId: 1, quantity: 1 }] });

const post = (path: string, body: string | undefined, headers: Record<string, string> = {}) => {
  const given = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    'idempotency-key': newKey(),
    ...headers,
    ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
  };
  // An empty value means: leave the header out.
  const sent = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== ''));
  return { method: 'POST', path, headers: sent, ...(body === undefined ? {} : { chunks: [body] }) };
};

describe('The fast lane and Express', () => {
  beforeAll(async () => {
    await insertProduct(world.ctx, { id: 7, price: 2_500, stock: 3 });
    await insertProduct(world.ctx, { id: 1, price: 500, stock: 10 });
    token = await world.ctx.tokenFor(USER);
    express = await startApiOver(world.ctx, { fastLane: false });
  });

  // Before the world's own teardown closes the clients this API uses.
  afterAll(async () => {
    await express.close();
  });

  describe('The fast lane answers accepts exactly as Express', () => {
    it.each([
      ['a valid order', '/api/orders', ORDER, {}, 202],
      ['a valid charge', '/api/charges', '{"amount":1000}', {}, 202],
      ['a body that is not JSON', '/api/orders', '{"items":', {}, 400],
      ['an order without items', '/api/orders', '{"items":[]}', {}, 400],
      [
        'an order repeating a product',
        '/api/orders',
        '{"items":[{"productId":1,"quantity":1},{"productId":1,"quantity":2}]}',
        {},
        400,
      ],
      [
        'an unknown field',
        '/api/orders',
        '{"items":[{"productId":1,"quantity":1}],"x":1}',
        {},
        400,
      ],
      ['a charge of 0', '/api/charges', '{"amount":0}', {}, 400],
      ['a JSON array', '/api/charges', '[1]', {}, 400],
      ['a body with a byte-order mark', '/api/orders', `\uFEFF${ORDER}`, {}, 202],
      ['a body that is only a byte-order mark', '/api/charges', '\uFEFF', {}, 400],
      ['an empty body', '/api/orders', '', {}, 400],
      ['no body and no Content-Type', '/api/orders', undefined, { 'content-type': '' }, 400],
      ['a body over 16 KiB', '/api/orders', ' '.repeat(16 * 1024) + ORDER, {}, 413],
      ['another media type', '/api/orders', ORDER, { 'content-type': 'text/plain' }, 415],
      [
        'a JSON subtype',
        '/api/orders',
        ORDER,
        { 'content-type': 'application/merge-patch+json' },
        202,
      ],
      [
        'a latin-1 charset',
        '/api/orders',
        ORDER,
        { 'content-type': 'application/json; charset=latin1' },
        415,
      ],
      ['a compressed body', '/api/orders', ORDER, { 'content-encoding': 'gzip' }, 415],
      ['no Authorization header', '/api/orders', ORDER, { authorization: '' }, 401],
      ['a forged token', '/api/orders', ORDER, { authorization: 'Bearer a.b.c' }, 401],
      ['no Idempotency-Key', '/api/orders', ORDER, { 'idempotency-key': '' }, 400],
      ['an Idempotency-Key with a space', '/api/orders', ORDER, { 'idempotency-key': 'a b' }, 400],
      ['a query string', '/api/orders?x=1', ORDER, {}, 202],
      ['a trailing slash', '/api/orders/', ORDER, {}, 202],
    ])(
      'When %s is posted, then both answer the same',
      async (_what, path, body: string | undefined, headers: Record<string, string>, status) => {
        const [viaExpress, viaLane] = await both(() => post(path, body, headers));
        expect(viaExpress.status).toBe(status);
        expect(comparable(viaLane)).toEqual(comparable(viaExpress));
      },
    );

    it('When a body is sent chunked, then both answer the same', async () => {
      const chunked = (): RawRequest => ({
        method: 'POST',
        path: '/api/orders',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'idempotency-key': newKey(),
        },
        chunks: [ORDER.slice(0, 5), ORDER.slice(5)],
      });
      const [viaExpress, viaLane] = await both(chunked);
      expect(viaExpress.status).toBe(202);
      expect(comparable(viaLane)).toEqual(comparable(viaExpress));
    });

    it('When a key is replayed with the same body, then both answer the first id with Idempotent-Replayed, and reused with another body, both answer 422', async () => {
      const answers = [];
      for (const api of [express, world.api]) {
        const key = newKey();
        const first = await rawRequest(
          api.baseUrl,
          post('/api/orders', ORDER, { 'idempotency-key': key }),
        );
        const again = await rawRequest(
          api.baseUrl,
          post('/api/orders', ORDER, { 'idempotency-key': key }),
        );
        const reused = await rawRequest(
          api.baseUrl,
          post('/api/orders', '{"items":[{"productId":1,"quantity":2}]}', {
            'idempotency-key': key,
          }),
        );
        expect(again.headers.get('idempotent-replayed')).toBe('true');
        expect((again.body as { orderId: string }).orderId).toBe(
          (first.body as { orderId: string }).orderId,
        );
        answers.push([first, again, reused].map(comparable));
      }
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[0]?.[2]?.status).toBe(422);
    });

    it('When the lane accepts an order, then its job is in the queue and its status is PENDING', async () => {
      const accepted = await rawRequest(world.api.baseUrl, post('/api/orders', ORDER));
      const { orderId, statusUrl } = accepted.body as { orderId: string; statusUrl: string };
      expect(accepted.headers.get('location')).toBe(statusUrl);
      const queues = createQueues(
        world.ctx.redis,
        world.ctx.config.redis,
        world.ctx.config.jobs,
        world.ctx.logger,
      );
      try {
        expect((await allOf(queues.orders).getJob(orderId))?.data).toMatchObject({
          orderId,
          userId: USER,
        });
      } finally {
        await queues.close();
      }
      const status = await rawRequest(world.api.baseUrl, {
        method: 'GET',
        path: statusUrl,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(status.body).toMatchObject({ orderId, status: 'PENDING', userId: USER });
    });
  });

  describe('The fast lane answers product reads exactly as Express', () => {
    it.each([
      ['a product', 'GET', '/api/products/7', {}, undefined, 200],
      ['a product again (cached)', 'GET', '/api/products/7', {}, undefined, 200],
      ['an unknown product', 'GET', '/api/products/8', {}, undefined, 404],
      ['a query string', 'GET', '/api/products/7?x=1', {}, undefined, 200],
      ['a trailing slash', 'GET', '/api/products/7/', {}, undefined, 200],
      ['a leading zero', 'GET', '/api/products/07', {}, undefined, 400],
      ['an id past the safe integers', 'GET', '/api/products/9999999999999999', {}, undefined, 400],
      ['HEAD', 'HEAD', '/api/products/7', {}, undefined, 200],
      ['POST', 'POST', '/api/products/7', { 'content-length': '0' }, undefined, 404],
      ['If-None-Match: *', 'GET', '/api/products/7', { 'if-none-match': '*' }, undefined, 304],
      ['If-Modified-Since', 'GET', '/api/products/7', { 'if-modified-since': 'x' }, undefined, 200],
      [
        'a sane X-Request-Id',
        'GET',
        '/api/products/7',
        { 'x-request-id': 'trace-42' },
        undefined,
        200,
      ],
      [
        'a body',
        'GET',
        '/api/products/7',
        { 'content-type': 'application/json', 'content-length': '5' },
        '{"a":',
        200,
      ],
    ])(
      'When a read has %s, then both answer the same',
      async (
        _what,
        method,
        path,
        headers: Record<string, string>,
        body: string | undefined,
        status,
      ) => {
        const make = (): RawRequest => ({
          method,
          path,
          headers,
          ...(body === undefined ? {} : { chunks: [body] }),
        });
        const [viaExpress, viaLane] = await both(make);
        expect(viaExpress.status).toBe(status);
        expect(comparable(viaLane)).toEqual(comparable(viaExpress));
        if (headers['x-request-id']) expect(viaLane.headers.get('x-request-id')).toBe('trace-42');
      },
    );

    it('When reads are served by the lane, then they are counted in the request histogram like any other', async () => {
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

  describe('What the fast lane takes', () => {
    it('When a request line is exactly a hot endpoint, then the lane serves it, whatever the process has seen; anything else goes to Express', async () => {
      // Clients of its own: these deps are built and stopped inside the test.
      const redis = createRedisClient(world.ctx.config.redis, 'command', world.ctx.logger);
      const queues = createQueues(
        redis,
        world.ctx.config.redis,
        world.ctx.config.jobs,
        world.ctx.logger,
      );
      const deps = buildAppDeps({ ...world.ctx, redis, queues });
      const api = createApi(deps);
      try {
        const lane = api.fastLane;
        const taken = (method: string, url: string) => lane?.takes(method, url);
        expect(taken('POST', '/api/orders')).toBe(true);
        expect(taken('POST', '/api/charges?x=1')).toBe(true);
        expect(taken('GET', '/api/products/7')).toBe(true);
        expect(taken('GET', '/api/products/9007199254740993')).toBe(true);
        for (const [method, url] of [
          ['POST', '/api/orders/'],
          ['POST', '/API/ORDERS'],
          ['GET', '/api/orders'],
          ['HEAD', '/api/products/7'],
          ['GET', '/api/products/07'],
          ['GET', '/api/products/top'],
          ['GET', '/api/products/7/'],
          ['GET', '/api/balance'],
        ] as const) {
          expect({ method, url, taken: taken(method, url) }).toEqual({ method, url, taken: false });
        }
        const expressOnly = createApi(deps, { fastLane: false });
        expect(expressOnly.fastLane).toBeUndefined();
        expressOnly.close();
      } finally {
        api.close();
        stopAppDeps(deps);
        await queues.close();
        redis.disconnect();
      }
    });
  });
});
