/**
 * Sending hostile requests and judging the answers against the contract: a client that sends
 * headers and paths exactly as given, a raw-socket client for bytes no client library sends,
 * the problem+json check, and the "nothing was written" check.
 */
import http from 'node:http';
import net from 'node:net';
import { QueryTypes } from 'sequelize';
import type { RequestQueues } from '../../shared/queues';
import { CHARGES_QUEUE } from '../../shared/queues/charges';
import { CANCELLATIONS_QUEUE } from '../../shared/queues/cancellations';
import { ORDERS_QUEUE } from '../../shared/queues/orders';
import type { TestContext } from '../harness/context';
import { allOf } from '../harness/queues';

export interface HostileRequest {
  method: string;
  /** Sent as is: already percent-encoded where the test wants it to be. */
  path: string;
  /** Values are latin1 strings; an array sends the header once per value. */
  headers: Record<string, string | string[] | undefined>;
  body?: string;
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/**
 * Environment for these tests: the API shares its event loop and CPU with jest and the input
 * generators, so the production limits (250 ms event-loop lag, 500 ms per database or Redis
 * call) would turn a busy test runner into 503s that say nothing about input handling.
 */
export const INPUT_ONLY_ENV: Readonly<Record<string, string>> = {
  ADMISSION_MAX_LAG_MS: '60000',
  API_DB_TIMEOUT_MS: '10000',
  REDIS_COMMAND_TIMEOUT_MS: '10000',
};

/**
 * How long one property may run; the hostile suites set jest's timeout above it. A bound for a
 * hung or endlessly shrinking run, not a speed target: on a slow 2-CPU machine running two
 * suites at once, 150 batches of bodies took more than 60 s.
 */
export const PROPERTY_TIME_LIMIT_MS = 180_000;

/**
 * fast-check options: `numRuns` batches, and a bound on the whole run so that a failure's
 * shrinking ends (and reports the smallest case found so far) inside jest's timeout. Running
 * out of time before `numRuns` is a failure, never a quiet pass after however few runs fit.
 */
export const runs = (numRuns: number) => ({
  numRuns,
  interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
  markInterruptAsFailure: true,
});

/** The contract's error table: code → status. */
export const CONTRACT_ERRORS: Readonly<Record<string, number>> = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  IDEMPOTENCY_KEY_REQUIRED: 400,
  UNAUTHENTICATED: 401,
  NOT_FOUND: 404,
  PRODUCT_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  CHARGE_NOT_FOUND: 404,
  ORDER_NOT_CANCELLABLE: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  SERVICE_UNAVAILABLE: 503,
};

function flatHeaders(raw: http.IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/** One request through node:http on a fresh connection; the body gets a Content-Length. */
export function send(baseUrl: string, req: HostileRequest): Promise<Answer> {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = value;
  }
  const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
  if (body) headers['content-length'] = body.length;
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      new URL(baseUrl),
      { method: req.method, path: req.path, headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: flatHeaders(res.headers),
            text: Buffer.concat(parts).toString('utf8'),
          });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/**
 * Writes `head` (request line and headers, latin1, without the final blank line) and `body` on
 * a raw socket and reads the answer up to the server closing the connection.
 */
export function sendRaw(baseUrl: string, head: string, body = ''): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const parts: Buffer[] = [];
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('connect', () => {
      const bytes = Buffer.from(body, 'utf8');
      socket.write(Buffer.from(`${head}\r\nContent-Length: ${bytes.length}\r\n\r\n`, 'latin1'));
      // No half-close: the server answers and closes (Connection: close), as a browser would see.
      socket.write(bytes);
    });
    socket.on('data', (chunk: Buffer) => parts.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(parts).toString('latin1');
      const end = raw.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = raw.slice(0, end < 0 ? raw.length : end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0),
        headers,
        text: end < 0 ? '' : Buffer.from(raw.slice(end + 4), 'latin1').toString('utf8'),
      });
    });
  });
}

/** Runs `fn` over `items`, at most `limit` at a time; results in input order. */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  const queue = [...items.entries()];
  const lane = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      results[next[0]] = await fn(next[1]);
    }
  };
  await Promise.all(Array.from({ length: limit }, lane));
  return results;
}

/** What the contract says is wrong with an answer, or undefined when nothing is. */
export function contractViolation(answer: Answer): string | undefined {
  if (answer.status === 0) return 'no HTTP status line';
  if (answer.status >= 500) return `answered ${answer.status}`;
  // A conditional GET (If-None-Match matching the ETag, or `*`) is answered 304 with no body.
  if (answer.status === 304) return answer.text === '' ? undefined : '304 with a body';
  const type = answer.headers['content-type'] ?? '';
  if (answer.status < 300) {
    return /^application\/json/.test(type) ? undefined : `2xx with Content-Type "${type}"`;
  }
  if (!/^application\/problem\+json/.test(type)) return `error with Content-Type "${type}"`;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return 'problem body is not JSON';
  }
  if (typeof body !== 'object' || body === null) return 'problem body is not an object';
  const p = body as Record<string, unknown>;
  for (const field of ['type', 'title', 'code', 'detail'] as const) {
    if (typeof p[field] !== 'string') return `problem.${field} is not a string`;
  }
  if (p.status !== answer.status) return `problem.status ${String(p.status)} ≠ HTTP status`;
  const code = String(p.code);
  if (CONTRACT_ERRORS[code] !== answer.status) return `code ${code} is not in the contract table`;
  const errors = p.errors;
  if (
    errors !== undefined &&
    !(
      Array.isArray(errors) &&
      errors.every((e: unknown) => {
        const item = e as { path?: unknown; message?: unknown } | null;
        return typeof item?.path === 'string' && typeof item.message === 'string';
      })
    )
  ) {
    return 'problem.errors is not [{ path, message }]';
  }
  if (/\bat \S+ \(|node_modules|\.ts:\d+/.test(answer.text)) return 'problem leaks a stack trace';
  return undefined;
}

export const codeOf = (answer: Answer): string | undefined => {
  try {
    const body: unknown = JSON.parse(answer.text);
    return typeof body === 'object' && body !== null && 'code' in body
      ? String(body.code)
      : undefined;
  } catch {
    return undefined;
  }
};

const clip = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

/** An error naming the request and the answer, so a counterexample reads on its own. */
export function violation(req: HostileRequest, answer: Answer, what: string): Error {
  return new Error(
    `${what}\n  request: ${req.method} ${clip(req.path)}\n  headers: ${clip(
      JSON.stringify(req.headers),
    )}\n  body: ${clip(JSON.stringify(req.body ?? null))}\n  answer: ${answer.status} ${
      answer.headers['content-type'] ?? '(no content-type)'
    } ${clip(answer.text)}`,
  );
}

/** Sends every request; the first answer `judge` finds wrong, as an error naming it. */
export async function firstViolation(
  baseUrl: string,
  requests: readonly HostileRequest[],
  judge: (req: HostileRequest, answer: Answer) => string | undefined,
): Promise<Error | undefined> {
  const answers = await mapBounded(requests, 8, (req) => send(baseUrl, req));
  for (const [i, req] of requests.entries()) {
    const answer = answers[i];
    if (!answer) return new Error(`no answer to request ${i}`);
    const wrong = judge(req, answer);
    if (wrong !== undefined) return violation(req, answer, wrong);
  }
  return undefined;
}

const QUEUE_NAMES = [CHARGES_QUEUE, ORDERS_QUEUE, CANCELLATIONS_QUEUE];
const TABLES = [
  'users',
  'charges',
  'orders',
  'order_items',
  'balance_ledger',
  'order_events',
  'order_cancellations',
];

/**
 * What requests left behind: rows in the money and order tables, Redis status or idempotency
 * records, charge or order jobs. (Caches, e.g. the catalog's, may fill on reads: not a write.)
 * The accept path writes only Redis (there are no workers here to write rows), so the records
 * and job keys found are erased once reported: a shrinking property then starts clean.
 */
export async function takeWrites(
  ctx: TestContext,
  queues: RequestQueues,
): Promise<string | undefined> {
  const found: string[] = [];
  const [counts] = await ctx.sequelize.query<Record<string, number | string>>(
    `SELECT ${TABLES.map((t) => `(SELECT COUNT(*) FROM ${t}) AS ${t}`).join(', ')}`,
    { type: QueryTypes.SELECT },
  );
  for (const table of TABLES) {
    if (Number(counts?.[table]) !== 0) found.push(`${String(counts?.[table])} rows in ${table}`);
  }
  for (const queue of [allOf(queues.charges), allOf(queues.orders), allOf(queues.cancellations)]) {
    const jobs = Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);
    if (jobs !== 0) found.push(`${jobs} jobs in queue ${queue.name}`);
  }
  const prefix = ctx.config.redis.prefix;
  // BullMQ writes each queue's `meta` hash when the queue is created; its other keys mean jobs.
  const written = new RegExp(
    `^${prefix}:(?:\\{[^}]*\\}:)?(?:status:|idem:|open:|rate:|(?:${QUEUE_NAMES.join('|')}):(?!meta$))`,
  );
  const keys = (await ctx.redis.keys(`${prefix}:*`)).filter((key) => written.test(key));
  if (keys.length > 0) {
    found.push(`Redis keys ${keys.slice(0, 10).join(', ')}`);
    await ctx.redis.del(...keys);
  }
  return found.length === 0 ? undefined : found.join('; ');
}

/** Asserts no row, no Redis status or idempotency record and no queued job exists. */
export async function expectNothingWritten(ctx: TestContext, queues: RequestQueues): Promise<void> {
  expect(await takeWrites(ctx, queues)).toBeUndefined();
}
