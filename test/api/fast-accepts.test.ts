import type { RequestListener } from 'node:http';
import { chargeAccepts } from '../../api/charges/routes';
import { createRequestObserver } from '../../api/http/observe';
import { securityHeaders } from '../../api/http/security-headers';
import { orderAccepts } from '../../api/orders/routes';
import { fastAcceptRoute } from '../../api/pipeline/accept-route';
import { fastAccepts } from '../../api/pipeline/fast-accepts';
import { buildAppDeps, stopAppDeps } from '../../api/wiring';
import type { AppDeps } from '../../api/app';
import { createQueues, type PipelineQueues } from '../../shared/queues';
import { serve, type RunningApi } from '../harness/context';
import { rawRequest, type HttpResponse } from '../harness/http';
import { insertProduct, newKey, usePipelineWorld } from '../harness/pipeline';

/**
 * The fast accept path (`api/pipeline/fast-accepts.ts`) answers exactly as the Express routes.
 * Express's answers come from the real API with a chunked body (which the fast path never
 * takes); the fast path's from a server whose Express is a stub answering 299, so every
 * answer that is not 299 was the fast path's own.
 */
const world = usePipelineWorld({}, { workers: false });
const USER = 31;
let token: string;
let queues: PipelineQueues;
let deps: AppDeps;
let fast: RunningApi;
const passedOn: string[] = [];

beforeAll(async () => {
  const { ctx } = world;
  await insertProduct(ctx, { id: 1, price: 500, stock: 10 });
  token = await ctx.tokenFor(USER);
  queues = createQueues(ctx.redis, ctx.config.redis.prefix, ctx.config.jobs, ctx.logger);
  deps = buildAppDeps({ ...ctx, queues });
  const express: RequestListener = (req, res) => {
    passedOn.push(`${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    req.on('end', () => res.writeHead(299).end());
  };
  fast = await serve(
    fastAccepts(
      {
        routes: [
          fastAcceptRoute(orderAccepts(deps.orders)),
          fastAcceptRoute(chargeAccepts(deps.charges)),
        ],
        // The memo of verified tokens: this token counts as verified before.
        knownUser: (header) => (header === `Bearer ${token}` ? USER : undefined),
        admission: deps.admission,
        metrics: deps.metrics,
        observer: createRequestObserver(ctx.logger, deps.metrics),
        logger: ctx.logger,
        headers: securityHeaders(),
      },
      express,
    ),
  );
});

afterAll(async () => {
  await fast.close();
  stopAppDeps(deps);
  await queues.close();
});

beforeEach(() => {
  passedOn.length = 0;
});

function post(
  via: 'express' | 'fast',
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<HttpResponse> {
  const base = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
    ...(via === 'fast' ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
    ...headers,
  };
  return rawRequest(via === 'fast' ? fast.baseUrl : world.api.baseUrl, {
    method: 'POST',
    path,
    headers: base,
    chunks: [body],
  });
}

/** Status, body and headers, with what differs between any two answers (date, ids) blanked. */
function comparable(response: HttpResponse) {
  const ids = /[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/g;
  const headers = [...response.headers]
    .filter(([name]) => name !== 'date' && name !== 'x-request-id' && name !== 'connection')
    .map(([name, value]) => [name, value.replace(ids, 'ID')]);
  return {
    status: response.status,
    body: response.text.replace(ids, 'ID'),
    headers: Object.fromEntries(headers),
  };
}

const ORDER = JSON.stringify({ items: [{ productId: 1, quantity: 1 }] });

describe('The fast accept path answers exactly as the Express route', () => {
  it.each([
    ['a valid order', '/api/orders', ORDER, 202],
    ['a valid charge', '/api/charges', '{"amount":1000}', 202],
    ['a body that is not JSON', '/api/orders', '{"items":', 400],
    ['an order without items', '/api/orders', '{"items":[]}', 400],
    [
      'an order repeating a product',
      '/api/orders',
      '{"items":[{"productId":1,"quantity":1},{"productId":1,"quantity":2}]}',
      400,
    ],
    ['an unknown field', '/api/orders', '{"items":[{"productId":1,"quantity":1}],"x":1}', 400],
    ['a charge of 0', '/api/charges', '{"amount":0}', 400],
    ['a JSON array', '/api/charges', '[1]', 400],
    ['a body with a byte-order mark', '/api/orders', `\uFEFF${ORDER}`, 202],
    ['a body that is only a byte-order mark', '/api/charges', '\uFEFF', 400],
  ])('When %s is posted, then both answer the same', async (_what, path, body, status) => {
    const viaExpress = await post('express', path, body, { 'idempotency-key': newKey() });
    const viaFast = await post('fast', path, body, { 'idempotency-key': newKey() });
    expect(passedOn).toEqual([]);
    expect(viaExpress.status).toBe(status);
    expect(comparable(viaFast)).toEqual(comparable(viaExpress));
  });

  it('When a key is replayed with the same body, then both answer the first id with Idempotent-Replayed, and reused with another body, both answer 422', async () => {
    const answers = [];
    for (const via of ['express', 'fast'] as const) {
      const key = newKey(via);
      const first = await post(via, '/api/orders', ORDER, { 'idempotency-key': key });
      const again = await post(via, '/api/orders', ORDER, { 'idempotency-key': key });
      const reused = await post(via, '/api/orders', '{"items":[{"productId":1,"quantity":2}]}', {
        'idempotency-key': key,
      });
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect((again.body as { orderId: string }).orderId).toBe(
        (first.body as { orderId: string }).orderId,
      );
      answers.push([first, again, reused].map(comparable));
    }
    expect(passedOn).toEqual([]);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[0]?.[2]?.status).toBe(422);
  });

  it('When the fast path accepts an order, then its job is in the queue and its status is PENDING', async () => {
    const accepted = await post('fast', '/api/orders', ORDER, { 'idempotency-key': newKey() });
    const { orderId, statusUrl } = accepted.body as { orderId: string; statusUrl: string };
    expect(accepted.headers.get('location')).toBe(statusUrl);
    expect((await queues.orders.getJob(orderId))?.data).toMatchObject({ orderId, userId: USER });
    const status = await rawRequest(world.api.baseUrl, {
      method: 'GET',
      path: statusUrl,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(status.body).toMatchObject({ orderId, status: 'PENDING', userId: USER });
  });
});

describe('What the fast accept path leaves to Express', () => {
  const key = { 'idempotency-key': 'k-1' };
  it.each([
    ['a token not verified before', '/api/orders', { ...key, authorization: 'Bearer a.b.c' }],
    ['no Authorization header', '/api/orders', { ...key, authorization: '' }],
    ['no Idempotency-Key', '/api/orders', {}],
    ['an Idempotency-Key with a space', '/api/orders', { 'idempotency-key': 'a b' }],
    ['another media type', '/api/orders', { ...key, 'content-type': 'text/plain' }],
    ['a JSON subtype', '/api/orders', { ...key, 'content-type': 'application/merge-patch+json' }],
    [
      'a latin-1 charset',
      '/api/orders',
      { ...key, 'content-type': 'application/json; charset=latin1' },
    ],
    ['a compressed body', '/api/orders', { ...key, 'content-encoding': 'gzip' }],
    ['a query string', '/api/orders?x=1', key],
    ['a trailing slash', '/api/orders/', key],
    ['another path', '/api/balance', key],
  ])('When the request has %s, then Express answers it', async (_what, path, headers) => {
    const response = await post('fast', path, ORDER, headers);
    expect(response.status).toBe(299);
    expect(passedOn).toEqual([`POST ${path}`]);
  });

  it('When the body is sent chunked, empty or over 16 KiB, then Express answers it', async () => {
    const chunked = await rawRequest(fast.baseUrl, {
      method: 'POST',
      path: '/api/orders',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...key },
      chunks: [ORDER],
    });
    const empty = await post('fast', '/api/orders', '', key);
    const big = await post('fast', '/api/orders', ' '.repeat(16 * 1024) + ORDER, key);
    expect([chunked.status, empty.status, big.status]).toEqual([299, 299, 299]);
  });

  it('When a GET reaches it, then Express answers it', async () => {
    const response = await rawRequest(fast.baseUrl, { method: 'GET', path: '/api/orders' });
    expect(response.status).toBe(299);
  });
});
