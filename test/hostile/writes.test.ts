import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { createQueues, type RequestQueues } from '../../shared/queues';
import { expectProblem, request } from '../harness/http';
import { startApiOver, type RunningApi } from '../harness/context';
import { usePipelineWorld } from '../harness/pipeline';
import { craftedInvalidTokens, invalidAuthorization, invalidKey, validKey } from './arbitraries';
import {
  invalidCancelBody,
  invalidChargeBody,
  invalidOrderBody,
  validCancelText,
  validChargeText,
  validOrderText,
  type BodySpec,
} from './bodies';
import {
  codeOf,
  contractViolation,
  expectNothingWritten,
  firstViolation,
  INPUT_ONLY_ENV,
  PROPERTY_TIME_LIMIT_MS,
  runs,
  takeWrites,
  type Answer,
  type HostileRequest,
} from './support';

// A property that runs out of time fails; jest must not cut it off first.
jest.setTimeout(PROPERTY_TIME_LIMIT_MS + 30_000);

/** No workers: an accepted request would sit in the queue, where the checks below find it. */
const world = usePipelineWorld(INPUT_ONLY_ENV, { workers: false });

/** Requests per property run, sent 8 at a time. */
const BATCH = 12;

const ENDPOINTS = [
  { path: '/api/charges', invalid: invalidChargeBody, valid: validChargeText },
  { path: '/api/orders', invalid: invalidOrderBody, valid: validOrderText },
] as const;
type Endpoint = (typeof ENDPOINTS)[number];

/** What a body the contract rejects may be answered with. */
const BODY_CODES = [
  'VALIDATION_FAILED',
  'INVALID_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];

type Headers = HostileRequest['headers'];

const post = (path: string, body: BodySpec, headers: Headers): HostileRequest => ({
  method: 'POST',
  path,
  body: body.text,
  headers: {
    ...headers,
    ...(body.contentType === null ? {} : { 'content-type': body.contentType }),
    ...(body.contentEncoding === undefined ? {} : { 'content-encoding': body.contentEncoding }),
  },
});

const json = (text: string): BodySpec => ({ contentType: 'application/json', text });

/** The answer must be a contract problem with one of `codes`. */
const rejectedWith =
  (...codes: string[]) =>
  (_req: HostileRequest, answer: Answer): string | undefined => {
    const wrong = contractViolation(answer);
    if (wrong !== undefined) return wrong;
    const code = codeOf(answer);
    return code !== undefined && codes.includes(code)
      ? undefined
      : `expected one of ${codes.join(', ')}, got ${answer.status} ${code ?? ''}`;
  };

describe('Hostile writes: invalid requests are refused and leave no trace', () => {
  let queues: RequestQueues;
  let valid: fc.Arbitrary<string>;
  let tokens: string[];
  let crafted: string[];

  beforeAll(async () => {
    const { ctx } = world;
    queues = createQueues(ctx.redis, ctx.config.redis, ctx.config.jobs, ctx.logger);
    tokens = await Promise.all([1, 2, Number.MAX_SAFE_INTEGER].map((id) => ctx.tokenFor(id)));
    valid = fc.constantFrom(...tokens).map((t) => `Bearer ${t}`);
    crafted = craftedInvalidTokens(ctx.config.jwtSecret);
  });

  afterEach(async () => {
    await expectNothingWritten(world.ctx, queues);
  });

  afterAll(async () => {
    await queues.close();
  });

  /**
   * Sends batches of generated requests; every answer must pass `judge`, and after each batch
   * nothing may have been written. Writes are taken even when an answer was wrong, so a
   * shrinking run starts from nothing.
   */
  const refuseAll = (
    requests: fc.Arbitrary<HostileRequest>,
    judge: (req: HostileRequest, answer: Answer) => string | undefined,
    numRuns: number,
    baseUrl = world.api.baseUrl,
  ) =>
    fc.assert(
      fc.asyncProperty(fc.array(requests, { minLength: 1, maxLength: BATCH }), async (batch) => {
        const wrong = await firstViolation(baseUrl, batch, judge);
        const writes = await takeWrites(world.ctx, queues);
        if (wrong) throw wrong;
        if (writes !== undefined) throw new Error(`written: ${writes}\n${JSON.stringify(batch)}`);
      }),
      runs(numRuns),
    );

  const badBody = (endpoint: Endpoint) =>
    fc
      .tuple(endpoint.invalid, valid, validKey)
      .map(([body, authorization, key]) =>
        post(endpoint.path, body, { authorization, 'idempotency-key': key }),
      );
  const badKey = (endpoint: Endpoint) =>
    fc
      .tuple(endpoint.valid, valid, invalidKey)
      .map(([text, authorization, key]) =>
        post(endpoint.path, json(text), { authorization, 'idempotency-key': key }),
      );
  const badToken = (endpoint: Endpoint) =>
    fc
      .tuple(endpoint.valid, invalidAuthorization(tokens, crafted), validKey)
      .map(([text, authorization, key]) =>
        post(endpoint.path, json(text), { authorization, 'idempotency-key': key }),
      );

  describe.each(ENDPOINTS)('POST $path', (endpoint) => {
    it('When the body is invalid (wrong types, odd numbers, injections, broken JSON, wrong media type, over 16 KiB) with a valid token and key, then it answers a 4xx problem and writes nothing', async () => {
      await refuseAll(badBody(endpoint), rejectedWith(...BODY_CODES), 150);
    });

    it('When the body is valid but the Idempotency-Key is missing, empty, too long, spaced, non-ASCII or repeated, then it answers 400 IDEMPOTENCY_KEY_REQUIRED and writes nothing', async () => {
      await refuseAll(badKey(endpoint), rejectedWith('IDEMPOTENCY_KEY_REQUIRED'), 50);
    });

    it('When the body and key are valid but the Authorization is missing, forged, expired or malformed, then it answers 401 UNAUTHENTICATED with WWW-Authenticate and writes nothing', async () => {
      const challenged = (req: HostileRequest, answer: Answer) =>
        rejectedWith('UNAUTHENTICATED')(req, answer) ??
        (/^Bearer\b/.test(answer.headers['www-authenticate'] ?? '')
          ? undefined
          : 'no WWW-Authenticate: Bearer');
      await refuseAll(badToken(endpoint), challenged, 50);
    });
  });

  describe('POST /api/orders/:orderId/cancel', () => {
    // Any order id: a UUID no order has, or anything else a path segment can hold.
    const orderIds = fc.oneof(
      fc.uuid(),
      fc.string({ minLength: 1, maxLength: 60 }).map((s) => encodeURIComponent(s)),
    );
    const cancel = (id: string, body: BodySpec | null, headers: Headers): HostileRequest =>
      body === null
        ? { method: 'POST', path: `/api/orders/${id}/cancel`, headers }
        : post(`/api/orders/${id}/cancel`, body, headers);

    it('When the body is anything but none or {} (fields, arrays, scalars, broken JSON, wrong media type, over 16 KiB), then it answers a 4xx problem and writes nothing', async () => {
      const requests = fc
        .tuple(orderIds, invalidCancelBody, valid, validKey)
        .map(([id, body, authorization, key]) =>
          cancel(id, body, { authorization, 'idempotency-key': key }),
        );
      await refuseAll(requests, rejectedWith(...BODY_CODES, 'NOT_FOUND'), 100);
    });

    it('When the key or the token is invalid, then it answers 400 or 401 and writes nothing', async () => {
      const requests = fc.oneof(
        fc
          .tuple(orderIds, validCancelText, valid, invalidKey)
          .map(([id, text, authorization, key]) =>
            cancel(id, json(text), { authorization, 'idempotency-key': key }),
          ),
        fc
          .tuple(orderIds, invalidAuthorization(tokens, crafted), validKey)
          .map(([id, authorization, key]) =>
            cancel(id, null, { authorization, 'idempotency-key': key }),
          ),
      );
      await refuseAll(
        requests,
        rejectedWith('IDEMPOTENCY_KEY_REQUIRED', 'UNAUTHENTICATED', 'NOT_FOUND'),
        50,
      );
    });

    it('When the request is well formed but names no order of the caller, then it answers 404 ORDER_NOT_FOUND and writes nothing', async () => {
      const requests = fc
        .tuple(orderIds, fc.option(validCancelText, { nil: null }), valid, validKey)
        .map(([id, text, authorization, key]) =>
          cancel(id, text === null ? null : json(text), { authorization, 'idempotency-key': key }),
        );
      await refuseAll(requests, rejectedWith('ORDER_NOT_FOUND', 'NOT_FOUND'), 50);
    });
  });

  describe('While admission control refuses every accept', () => {
    let overloaded: RunningApi;

    beforeAll(async () => {
      const { ctx } = world;
      // The event loop's measured delay is never under 1 ms, so every accept is refused.
      const admission = { ...ctx.config.admission, maxLagMs: 1 };
      overloaded = await startApiOver({ ...ctx, config: { ...ctx.config, admission } });
      // The delay is sampled in the background, every 500 ms.
      await sleep(1_200);
    });

    afterAll(async () => {
      await overloaded.close();
    });

    it('When a valid request arrives, then it answers 503 OVERLOADED with Retry-After and writes nothing', async () => {
      const response = await request(overloaded.baseUrl, 'POST', '/api/charges', {
        token: tokens[0] ?? '',
        body: { amount: 100 },
        headers: { 'idempotency-key': 'overloaded-1' },
      });
      expectProblem(response, 503, 'OVERLOADED');
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it.each(ENDPOINTS)(
      'When POST $path gets an invalid body, key or token, then it still answers its 4xx, not 503: a client mistake never yields 5xx',
      async (endpoint) => {
        const mistakes = fc.oneof(badBody(endpoint), badKey(endpoint), badToken(endpoint));
        const clientError = (_req: HostileRequest, answer: Answer) =>
          contractViolation(answer) ??
          (answer.status >= 400 && answer.status < 500 ? undefined : 'not a 4xx');
        await refuseAll(mistakes, clientError, 15, overloaded.baseUrl);
      },
    );
  });

  describe('Oversized and deeply nested bodies', () => {
    const KIB = 1024;
    const auth = () => ({ authorization: `Bearer ${tokens[0] ?? ''}`, 'idempotency-key': 'k-1' });

    it.each([
      ['/api/charges', '{"amount":100}'],
      ['/api/orders', '{"items":[{"productId":1,"quantity":1}]}'],
    ])(
      'When POST %s gets an otherwise valid 17 KiB body, then it answers 413 PAYLOAD_TOO_LARGE',
      async (path, valid) => {
        const body = `{${' '.repeat(17 * KIB - valid.length)}${valid.slice(1)}`;
        expect(Buffer.byteLength(body)).toBe(17 * KIB);
        const response = await request(world.api.baseUrl, 'POST', path, { body, headers: auth() });
        expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
      },
    );

    const nest = (depth: number, core = '') => '['.repeat(depth) + core + ']'.repeat(depth);
    it.each([
      ['/api/charges', '10,000 unclosed [', '['.repeat(10_000), 400, 'INVALID_JSON'],
      ['/api/orders', '10,000 unclosed [', '['.repeat(10_000), 400, 'INVALID_JSON'],
      ['/api/charges', '10,000 nested arrays', nest(10_000), 413, 'PAYLOAD_TOO_LARGE'],
      ['/api/charges', '8,000 nested arrays', nest(8_000), 400, 'VALIDATION_FAILED'],
      [
        '/api/charges',
        'an amount 8,000 arrays deep',
        `{"amount":${nest(8_000, '1')}}`,
        400,
        'VALIDATION_FAILED',
      ],
      [
        '/api/orders',
        'items 8,000 arrays deep',
        `{"items":${nest(8_000)}}`,
        400,
        'VALIDATION_FAILED',
      ],
      [
        '/api/orders',
        '2,700 nested objects',
        `${'{"a":'.repeat(2_700)}1${'}'.repeat(2_700)}`,
        400,
        'VALIDATION_FAILED',
      ],
    ])(
      'When POST %s gets %s, then it answers a 4xx problem and the server keeps answering',
      async (path, _what, body, status, code) => {
        const response = await request(world.api.baseUrl, 'POST', path, { body, headers: auth() });
        expectProblem(response, status, code);
        const health = await request(world.api.baseUrl, 'GET', '/healthz');
        expect(health.status).toBe(200);
      },
    );
  });
});
