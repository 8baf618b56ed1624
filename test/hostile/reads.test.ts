import fc from 'fast-check';
import { createQueues, type RequestQueues } from '../../shared/queues';
import { insertProducts } from '../harness/builders';
import { request } from '../harness/http';
import { usePipelineWorld } from '../harness/pipeline';
import {
  craftedInvalidTokens,
  headerSafe,
  hostileString,
  hostileValueText,
  idSegment,
  invalidAuthorization,
  queryString,
  validKey,
} from './arbitraries';
import { invalidChargeBody, invalidOrderBody } from './bodies';
import {
  codeOf,
  contractViolation,
  expectNothingWritten,
  mapBounded,
  PROPERTY_TIME_LIMIT_MS,
  runs,
  firstViolation,
  INPUT_ONLY_ENV,
  takeWrites,
  sendRaw,
  violation,
  type Answer,
  type HostileRequest,
} from './support';

// A property that runs out of time fails; jest must not cut it off first.
jest.setTimeout(PROPERTY_TIME_LIMIT_MS + 30_000);

const world = usePipelineWorld(INPUT_ONLY_ENV, { workers: false });

/** Requests per property run, sent 8 at a time. */
const BATCH = 12;

const GET_TARGETS: fc.Arbitrary<string> = fc.oneof(
  queryString.map((q) => `/api/products${q}`),
  fc.tuple(idSegment, queryString).map(([id, q]) => `/api/products/${id}${q}`),
  queryString.map((q) => `/api/products/top${q}`),
  queryString.map((q) => `/api/balance${q}`),
  queryString.map((q) => `/api/orders${q}`),
  fc
    .tuple(fc.constantFrom('charges', 'orders'), idSegment, queryString)
    .map(([kind, id, q]) => `/api/${kind}/${id}${q}`),
);

const USER_TARGETS: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('/api/balance', '/api/orders', '/api/orders?limit=5'),
  fc.tuple(fc.constantFrom('charges', 'orders'), fc.uuid()).map(([k, id]) => `/api/${k}/${id}`),
);

/** Headers a client might add, each carrying hostile text (as latin1 bytes of its UTF-8). */
const extraHeaders = fc.record(
  {
    'idempotency-key': hostileString.map(headerSafe),
    'x-request-id': hostileString.map(headerSafe),
    accept: fc.constantFrom('text/html', '*/*', 'application/xml', 'application/problem+json'),
    'accept-language': hostileString.map(headerSafe),
    cookie: hostileString.map((s) => headerSafe(`session=${s}`)),
    'if-none-match': hostileString.map(headerSafe),
  },
  { requiredKeys: [] },
);

/** A GET may even carry a body; a JSON one is parsed (and may be broken). */
const getBody = fc.option(hostileValueText, { nil: undefined, freq: 4 });

/** Bytes a conforming client refuses to put in a header, and attempts to split one. */
const CONTROL_BYTES = [
  '\r',
  '\n',
  '\u0000',
  '\u0001',
  '\u0008',
  '\u000b',
  '\u000c',
  '\u001b[31m',
  '\u007f',
  '\r\nX-Injected: 1',
  '\r\nSet-Cookie: pwned=1',
  '\r\nIdempotency-Key: injected',
  '\r\n\r\nGET /api/balance HTTP/1.1',
];

/** Sends the requests and throws the first answer `judge` finds wrong. */
async function sendAll(
  requests: readonly HostileRequest[],
  judge: (req: HostileRequest, answer: Answer) => string | undefined,
): Promise<void> {
  const wrong = await firstViolation(world.api.baseUrl, requests, judge);
  if (wrong) throw wrong;
}

/**
 * Node's HTTP parser answers malformed header bytes itself, before the app sees the request:
 * a bare 400 without a body (api/main.ts installs no `clientError` handler).
 */
const isParserRejection = (answer: Answer) =>
  answer.status === 400 &&
  answer.headers['content-type'] === undefined &&
  answer.headers['x-request-id'] === undefined &&
  answer.text === '';

describe('Hostile reads: no input makes the API fail or answer outside the contract', () => {
  let queues: RequestQueues;
  let tokens: string[];
  let crafted: string[];

  beforeAll(async () => {
    const { ctx } = world;
    queues = createQueues(ctx.redis, ctx.config.redis, ctx.config.jobs, ctx.logger);
    tokens = await Promise.all([1, 2, Number.MAX_SAFE_INTEGER].map((id) => ctx.tokenFor(id)));
    crafted = craftedInvalidTokens(ctx.config.jwtSecret);
    await insertProducts(
      ctx.sequelize,
      [1, 2, 3, 4, 5].map((id) => ({ id })),
    );
  });

  afterEach(async () => {
    await expectNothingWritten(world.ctx, queues);
    const health = await request(world.api.baseUrl, 'GET', '/healthz');
    expect(health.status).toBe(200);
  });

  afterAll(async () => {
    await queues.close();
  });

  it('When any read endpoint gets arbitrary methods, ids, query strings, tokens, headers and bodies, then it never answers 5xx and every error is a contract problem', async () => {
    const authorization = fc.oneof(
      fc.constantFrom(...tokens).map((t) => `Bearer ${t}`),
      invalidAuthorization(tokens, crafted),
    );
    // Any method but POST (which could be valid and write) and OPTIONS (Express answers it).
    const method = fc.oneof(
      { weight: 6, arbitrary: fc.constant('GET') },
      { weight: 1, arbitrary: fc.constantFrom('DELETE', 'PUT', 'PATCH', 'TRACE') },
    );
    const getRequest: fc.Arbitrary<HostileRequest> = fc
      .tuple(method, GET_TARGETS, authorization, extraHeaders, getBody)
      .map(([verb, path, auth, headers, body]) => ({
        method: verb,
        path,
        headers: {
          ...headers,
          authorization: auth,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body,
      }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(getRequest, { minLength: 1, maxLength: BATCH }),
        async (requests) => {
          await sendAll(requests, (_req, answer) => contractViolation(answer));
        },
      ),
      runs(200),
    );
  });

  it('When a user endpoint gets a missing, forged, expired or malformed Authorization, then it answers 401 UNAUTHENTICATED with WWW-Authenticate', async () => {
    const unauthenticated = fc
      .tuple(USER_TARGETS, invalidAuthorization(tokens, crafted))
      .map(([path, authorization]): HostileRequest => ({
        method: 'GET',
        path,
        headers: { authorization },
      }));
    await fc.assert(
      fc.asyncProperty(
        fc.array(unauthenticated, { minLength: 1, maxLength: BATCH }),
        async (requests) => {
          await sendAll(
            requests,
            (_req, answer) =>
              contractViolation(answer) ??
              (answer.status === 401 && codeOf(answer) === 'UNAUTHENTICATED'
                ? undefined
                : 'expected 401 UNAUTHENTICATED') ??
              (/^Bearer\b/.test(answer.headers['www-authenticate'] ?? '')
                ? undefined
                : 'no WWW-Authenticate: Bearer'),
          );
        },
      ),
      runs(60),
    );
  });

  it("When a header carries control bytes, bare CR or LF, or a CRLF splitting attempt, then Node's parser refuses it with a bare 400 or the app answers within the contract, never 5xx, and nothing injected reaches the response headers", async () => {
    const target = fc.oneof(
      GET_TARGETS.map((path) => ({ method: 'GET', path, body: '', bodyHeaders: [] })),
      fc.tuple(fc.constantFrom('/api/charges', '/api/orders'), fc.boolean()).chain(([path, c]) =>
        (c ? invalidChargeBody : invalidOrderBody).map((spec) => ({
          method: 'POST',
          path,
          body: spec.text,
          bodyHeaders: [
            ...(spec.contentType === null ? [] : [`Content-Type: ${spec.contentType}`]),
            ...(spec.contentEncoding === undefined
              ? []
              : [`Content-Encoding: ${spec.contentEncoding}`]),
          ],
        })),
      ),
    );
    const rawRequest = fc.record({
      target,
      name: fc.constantFrom('authorization', 'idempotency-key', 'x-request-id', 'accept', 'cookie'),
      value: fc
        .tuple(
          fc.oneof(
            fc.constantFrom(...tokens).map((t) => `Bearer ${t}`),
            validKey,
          ),
          fc.constantFrom(...CONTROL_BYTES),
          hostileString.map(headerSafe),
        )
        .map((parts) => parts.join('')),
      token: fc.constantFrom(...tokens),
      key: validKey,
    });
    const judgeRaw = (answer: Answer): string | undefined => {
      if (answer.status >= 500) return `answered ${answer.status}`;
      if (isParserRejection(answer)) return undefined;
      if (
        answer.headers['x-injected'] !== undefined ||
        answer.headers['set-cookie'] !== undefined
      ) {
        return 'an injected header reached the response';
      }
      return contractViolation(answer);
    };
    await fc.assert(
      fc.asyncProperty(fc.array(rawRequest, { minLength: 1, maxLength: BATCH }), async (cases) => {
        const wrong = await mapBounded(cases, 8, async ({ target: t, name, value, token, key }) => {
          const head = [
            `${t.method} ${t.path} HTTP/1.1`,
            'Host: 127.0.0.1',
            'Connection: close',
            `${name}: ${value}`,
            `Authorization: Bearer ${token}`,
            `Idempotency-Key: ${key}`,
            ...t.bodyHeaders,
          ].join('\r\n');
          const answer = await sendRaw(world.api.baseUrl, head, t.body);
          const problem = judgeRaw(answer);
          return problem === undefined
            ? undefined
            : violation({ ...t, headers: { [name]: value } }, answer, problem);
        });
        const writes = await takeWrites(world.ctx, queues);
        const first = wrong.find((error) => error !== undefined);
        if (first) throw first;
        if (writes !== undefined) throw new Error(`written: ${writes}\n${JSON.stringify(cases)}`);
      }),
      runs(40),
    );
  });

  it.each([
    [
      'request line',
      (token: string) =>
        `GET /api/products/${'9'.repeat(20_000)} HTTP/1.1\r\nAuthorization: Bearer ${token}`,
    ],
    [
      'Authorization header',
      (token: string) =>
        `GET /api/balance HTTP/1.1\r\nAuthorization: Bearer ${token}${'x'.repeat(20_000)}`,
    ],
    [
      'Idempotency-Key header',
      (token: string) =>
        `POST /api/charges HTTP/1.1\r\nAuthorization: Bearer ${token}\r\nIdempotency-Key: ${'k'.repeat(20_000)}`,
    ],
  ])(
    "When the %s is over Node's 16 KiB header limit, then it is refused with 431 and the server keeps answering",
    async (_what, head) => {
      const answer = await sendRaw(
        world.api.baseUrl,
        `${head(tokens[0] ?? '')}\r\nHost: 127.0.0.1\r\nConnection: close`,
      );
      expect(answer.status).toBe(431);
    },
  );
});
