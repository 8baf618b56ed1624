import { useApiWorld } from '../harness/context';
import { expectProblem, rawRequest, request, type HttpResponse } from '../harness/http';

const world = useApiWorld();

const KIB = 1024;

/** A JSON document of exactly `bytes` bytes: `{"pad":"xxx…"}`. */
const jsonOfSize = (bytes: number) => `{"pad":"${'x'.repeat(bytes - 10)}"}`;

describe('Unknown routes', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/api/products/7/reviews'],
    ['DELETE', '/api/products'],
    ['PUT', '/api/balance'],
  ])('When %s %s is requested, then it answers 404 NOT_FOUND', async (method, path) => {
    expectProblem(await request(world.api.baseUrl, method, path), 404, 'NOT_FOUND');
  });

  it('When an unknown route is POSTed a JSON body, then it answers 404 NOT_FOUND', async () => {
    const response = await request(world.api.baseUrl, 'POST', '/api/nope', { body: { a: 1 } });
    expectProblem(response, 404, 'NOT_FOUND');
  });

  it('When an unknown route is POSTed without a body, then it answers 404 NOT_FOUND', async () => {
    expectProblem(await request(world.api.baseUrl, 'POST', '/api/nope'), 404, 'NOT_FOUND');
  });
});

describe('Request bodies', () => {
  it('When a JSON body is over 16 KiB, then it answers 413 PAYLOAD_TOO_LARGE', async () => {
    const body = jsonOfSize(16 * KIB + 1);
    const response = await request(world.api.baseUrl, 'POST', '/api/orders', { body });
    expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('When a JSON body is exactly 16 KiB, then it is read (and the unknown route answers 404)', async () => {
    const body = jsonOfSize(16 * KIB);
    expect(Buffer.byteLength(body)).toBe(16 * KIB);
    const response = await request(world.api.baseUrl, 'POST', '/api/nope', { body });
    expectProblem(response, 404, 'NOT_FOUND');
  });

  it('When an oversized JSON body is streamed without Content-Length, then it answers 413', async () => {
    const response = await rawRequest(world.api.baseUrl, {
      method: 'POST',
      path: '/api/orders',
      headers: { 'content-type': 'application/json' },
      chunks: ['{"pad":"', ...Array.from({ length: 20 }, () => 'x'.repeat(KIB)), '"}'],
    });
    expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  it.each([
    ['text/plain', '{"a":1}'],
    ['application/x-www-form-urlencoded', 'a=1&b=2'],
    ['multipart/form-data; boundary=xyz', '--xyz\r\n\r\na\r\n--xyz--'],
    ['application/xml', '<a>1</a>'],
  ])('When a POST body is %s, then it answers 415 UNSUPPORTED_MEDIA_TYPE', async (type, body) => {
    const response = await request(world.api.baseUrl, 'POST', '/api/orders', {
      body,
      headers: { 'content-type': type },
    });
    expectProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('When a POST body has no Content-Type, then it answers 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const response = await rawRequest(world.api.baseUrl, {
      method: 'POST',
      path: '/api/orders',
      headers: { 'content-length': '7' },
      chunks: ['{"a":1}'],
    });
    expectProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('When the JSON content type carries a charset, then the body is accepted as JSON', async () => {
    const response = await request(world.api.baseUrl, 'POST', '/api/nope', {
      body: '{"a":1}',
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expectProblem(response, 404, 'NOT_FOUND');
  });

  it.each([['{"a":'], ['{a:1}'], ["{'a':1}"], ['not json']])(
    'When the JSON body is %s, then it answers 400 INVALID_JSON',
    async (body) => {
      const response = await request(world.api.baseUrl, 'POST', '/api/orders', { body });
      expectProblem(response, 400, 'INVALID_JSON');
    },
  );
});

describe('Problem responses', () => {
  it('When an error is answered, then the body is exactly the problem+json fields, no stack', async () => {
    const response = await request(world.api.baseUrl, 'POST', '/api/orders', { body: '{"a":' });
    expect(Object.keys(response.body as object).sort()).toEqual(
      ['code', 'detail', 'status', 'title', 'type'].sort(),
    );
    expect(response.text).not.toMatch(/stack|node_modules|SyntaxError|\bat \S+ \(/);
  });
});

describe('X-Request-Id', () => {
  const idOf = (response: HttpResponse) => response.headers.get('x-request-id');
  const get = (headers: Record<string, string> = {}) =>
    request(world.api.baseUrl, 'GET', '/healthz', { headers });

  it('When the client sends a sane X-Request-Id, then it is echoed back', async () => {
    expect(idOf(await get({ 'x-request-id': 'client-req.42:abc' }))).toBe('client-req.42:abc');
  });

  it('When the client sends none, then each response carries a distinct generated id', async () => {
    const first = idOf(await get());
    const second = idOf(await get());
    expect(first).toMatch(/^[A-Za-z0-9._:-]{8,128}$/);
    expect(second).toMatch(/^[A-Za-z0-9._:-]{8,128}$/);
    expect(first).not.toBe(second);
  });

  it('When an error is answered, then it carries the request id too', async () => {
    const response = await request(world.api.baseUrl, 'GET', '/nope', {
      headers: { 'x-request-id': 'trace-404' },
    });
    expect(idOf(response)).toBe('trace-404');
  });

  it.each([
    ['300 characters long', 'a'.repeat(300)],
    ['containing spaces', 'hello world'],
    ['containing markup', '<script>alert(1)</script>'],
  ])('When the given id is %s, then a generated one replaces it', async (_, hostile) => {
    const id = idOf(await get({ 'x-request-id': hostile }));
    expect(id).not.toBe(hostile);
    expect(id).toMatch(/^[A-Za-z0-9._:-]{8,128}$/);
  });
});

describe('Conditional GETs', () => {
  // Responses carry no ETag, so only `If-None-Match: *` ("any representation") can match.
  // Raw HTTP: fetch() adds `Cache-Control: no-cache` to conditional requests, forcing a 200.
  it('When a GET carries If-None-Match: *, then it answers 304 Not Modified with no body', async () => {
    const response = await rawRequest(world.api.baseUrl, {
      method: 'GET',
      path: '/api/products/top',
      headers: { 'if-none-match': '*' },
    });
    expect(response.status).toBe(304);
    expect(response.text).toBe('');
  });

  it('When a GET carries an entity tag, then it never matches and the full answer is sent', async () => {
    const response = await rawRequest(world.api.baseUrl, {
      method: 'GET',
      path: '/api/products/top',
      headers: { 'if-none-match': '"abc"' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBeNull();
  });
});

describe('Security headers', () => {
  it.each([
    ['an API read', 'GET', '/api/products'],
    ['a 404', 'GET', '/nope'],
    ['a 415', 'POST', '/api/orders'],
    ['the health check', 'GET', '/healthz'],
    ['the OpenAPI document', 'GET', '/openapi.json'],
    ['a product detail (fast lane)', 'GET', '/api/products/1'],
  ])(
    "When %s is answered, then it carries an API's security headers and none of a document's",
    async (_, method, path) => {
      const response = await request(world.api.baseUrl, method, path, {
        ...(method === 'POST' ? { body: 'x', headers: { 'content-type': 'text/plain' } } : {}),
      });
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toBe(
        "default-src 'none';frame-ancestors 'none'",
      );
      expect(response.headers.get('strict-transport-security')).toMatch(/^max-age=\d+/);
      expect(response.headers.get('cross-origin-resource-policy')).toBe('same-origin');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-powered-by')).toBeNull();
      for (const document of ['cross-origin-opener-policy', 'x-dns-prefetch-control']) {
        expect(response.headers.get(document)).toBeNull();
      }
    },
  );

  it("When a page with inline scripts is answered (the API docs), then it carries helmet's document headers without a Content-Security-Policy", async () => {
    const response = await request(world.api.baseUrl, 'GET', '/docs/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toBeNull();
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe('Operations endpoints', () => {
  it('When GET /healthz, then it answers 200', async () => {
    const response = await request(world.api.baseUrl, 'GET', '/healthz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('When GET /openapi.json, then it is OpenAPI 3.1 describing every endpoint of the contract', async () => {
    const response = await request<{ openapi: string; paths: Record<string, unknown> }>(
      world.api.baseUrl,
      'GET',
      '/openapi.json',
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body.openapi).toMatch(/^3\.1\.\d+$/);
    expect(Object.keys(response.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/products',
        '/api/products/{productId}',
        '/api/products/top',
        '/api/balance',
        '/api/charges',
        '/api/charges/{chargeId}',
        '/api/orders',
        '/api/orders/{orderId}',
      ]),
    );
  });

  it('When GET /docs/, then it answers the Swagger UI page', async () => {
    const response = await request(world.api.baseUrl, 'GET', '/docs/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.text).toMatch(/swagger-ui/i);
  });
});
