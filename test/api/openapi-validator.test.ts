import type { ServerResponse } from 'node:http';
import { buildOpenApiDocument } from '../../api/openapi';
import { serve, type RunningApi } from '../harness/context';
import { checkResponsesAgainstOpenApi, checkedFetch, rawRequest, request } from '../harness/http';

/**
 * The harness's response check can fail: a stub server serves a copy of the document (one
 * copy with a schema changed) and canned answers, some of which break it.
 */

type Answer = (res: ServerResponse) => void;

const PRODUCT = {
  id: 1,
  name: 'Keyboard',
  description: '',
  price: 129_000,
  stock: 3,
  updatedAt: '2026-11-24T09:30:00.000Z',
};

const jsonAnswer =
  (status: number, body: unknown, headers: Record<string, string> = {}): Answer =>
  (res) => {
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-request-id': 'req-1',
      ...headers,
    });
    res.end(JSON.stringify(body));
  };

/** A stub serving `document` at /openapi.json and the canned answers by `METHOD path`. */
async function stub(document: object, answers: Record<string, Answer>): Promise<RunningApi> {
  return serve((req, res) => {
    if (req.url === '/openapi.json') {
      jsonAnswer(200, document)(res);
      return;
    }
    const answer = answers[`${req.method ?? ''} ${req.url ?? ''}`];
    if (answer) answer(res);
    else jsonAnswer(500, { unexpected: req.url })(res);
  });
}

const notFound = jsonAnswer(
  404,
  { type: 'about:blank', title: 'Not found', status: 404, code: 'NOT_FOUND', detail: 'No route' },
  { 'content-type': 'application/problem+json; charset=utf-8' },
);

describe('The response check against the served OpenAPI document', () => {
  let server: RunningApi;
  let stopChecking: () => void;

  beforeAll(async () => {
    server = await stub(buildOpenApiDocument(), {
      'GET /api/products/1': jsonAnswer(200, PRODUCT),
      'GET /api/products/2': jsonAnswer(200, { ...PRODUCT, price: '129000' }),
      'GET /api/products/3': jsonAnswer(418, PRODUCT),
      'GET /api/products/4': (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(PRODUCT));
      },
      'GET /api/products/5': jsonAnswer(200, PRODUCT, { 'retry-after': '1' }),
      'GET /api/products/6': jsonAnswer(200, PRODUCT, { 'content-type': 'text/plain' }),
      'GET /api/products/7': jsonAnswer(200, PRODUCT, { age: 'soon' }),
      'GET /api/products/8': jsonAnswer(200, PRODUCT, { age: '12' }),
      'GET /api/balance': jsonAnswer(
        401,
        {
          type: 'about:blank',
          title: 'Authentication required',
          status: 401,
          code: 'UNAUTHENTICATED',
          detail: 'Send a token',
        },
        { 'content-type': 'application/problem+json' },
      ),
      'GET /API/Products/1/': jsonAnswer(200, PRODUCT),
      'GET /api/products/TOP': jsonAnswer(200, {
        windowHours: 72,
        generatedAt: '2026-11-24T09:30:00.000Z',
        products: [],
      }),
      'GET /api/nope': notFound,
      'GET /api/gone': jsonAnswer(404, { code: 'NOT_FOUND' }),
      'GET /api/secret': jsonAnswer(200, { secret: true }),
    });
    stopChecking = checkResponsesAgainstOpenApi(server.baseUrl);
  });

  afterAll(async () => {
    stopChecking();
    await server.close();
  });

  const get = (path: string) => request(server.baseUrl, 'GET', path);

  it('When a response matches the document, then the request resolves', async () => {
    expect((await get('/api/products/1')).body).toEqual(PRODUCT);
    expect((await get('/api/products/8')).status).toBe(200);
  });

  it('When a path differs from its template in case or by a trailing slash, then it is matched as Express routes it', async () => {
    expect((await get('/API/Products/1/')).status).toBe(200);
    // A literal segment wins over a path parameter, as the routes are ordered.
    expect((await get('/api/products/TOP')).body).toEqual(
      expect.objectContaining({ products: [] }),
    );
  });

  it('When an unknown path answers the contract 404 NOT_FOUND problem, then it passes', async () => {
    expect((await get('/api/nope')).status).toBe(404);
  });

  it.each([
    [
      'the body breaks its schema',
      '/api/products/2',
      /getProduct: the body does not match the schema: body\/price must be integer/,
    ],
    ['the status is not declared', '/api/products/3', /status 418 is not declared for getProduct/],
    ['a required header is missing', '/api/products/4', /required header X-Request-Id is missing/],
    [
      'a contract header is sent undeclared',
      '/api/products/5',
      /header retry-after is sent but not declared/,
    ],
    [
      'the Content-Type is not declared',
      '/api/products/6',
      /Content-Type text\/plain is not declared/,
    ],
    [
      'a declared header has a bad value',
      '/api/products/7',
      /header Age: "soon" value must be integer/,
    ],
    [
      'a required header is missing from a shared response',
      '/api/balance',
      /required header WWW-Authenticate is missing/,
    ],
    [
      'an undocumented path answers something else than 404',
      '/api/secret',
      /no operation is documented for it/,
    ],
    [
      'an undocumented path answers a 404 that is not a problem',
      '/api/gone',
      /not the contract's 404 NOT_FOUND problem/,
    ],
  ])(
    'When %s, then the request fails naming the method, path, status and what is wrong',
    async (_what, path, reason) => {
      const failure = get(path);
      await expect(failure).rejects.toThrow(reason);
      await expect(failure).rejects.toThrow(`The response to GET ${path} (`);
    },
  );

  it('When the response comes through rawRequest or checkedFetch, then it is checked too', async () => {
    await expect(
      rawRequest(server.baseUrl, { method: 'GET', path: '/api/products/2' }),
    ).rejects.toThrow(/body\/price must be integer/);
    await expect(checkedFetch(`${server.baseUrl}/api/products/3`)).rejects.toThrow(
      /status 418 is not declared/,
    );
    expect((await checkedFetch(`${server.baseUrl}/api/products/1`)).status).toBe(200);
  });

  it('When the server is not registered, then nothing is checked', async () => {
    const other = await stub(buildOpenApiDocument(), { 'GET /api/secret': jsonAnswer(200, {}) });
    try {
      expect((await request(other.baseUrl, 'GET', '/api/secret')).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});

describe('The response check with a changed document', () => {
  it('When the served document says price is a string, then a correct product fails the check', async () => {
    const document = buildOpenApiDocument() as {
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    const product = document.components.schemas.Product;
    if (!product) throw new Error('no Product schema');
    product.properties.price = { type: 'string' };
    const server = await stub(document, { 'GET /api/products/1': jsonAnswer(200, PRODUCT) });
    const stopChecking = checkResponsesAgainstOpenApi(server.baseUrl);
    try {
      await expect(request(server.baseUrl, 'GET', '/api/products/1')).rejects.toThrow(
        /body\/price must be string/,
      );
    } finally {
      stopChecking();
      await server.close();
    }
  });
});
