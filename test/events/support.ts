import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import { loadConfig, type Config } from '../../shared/config';
import { createRedisClient } from '../../shared/redis';
import { createRequestRecords } from '../../shared/requests/records';
import { EVENTS_QUEUE, type EventsJob } from '../../shared/queues/events';
import type { EventDeliveryOptions } from '../../workers/events/start';
import { startWorkers, type RunningWorkers } from '../../workers/wiring';
import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { eventually } from '../harness/wait';

export const PLATFORM_SECRET = 'test-platform-secret-0123456789';

/**
 * Event delivery with test-sized delays: retries every 50..250 ms, a sweep every 200 ms. The
 * timeout and the sweeper's grace stay well above what a loaded machine takes: a receiver (in
 * the test's own process) answering after the timeout, or a relay marking its group's rows
 * enqueued after the grace, gives an event a second delivery, which the contract allows (at
 * least once) and the tests that count deliveries would read as a failure.
 */
export const FAST_EVENTS: Partial<EventDeliveryOptions> = {
  concurrency: 4,
  retry: { attempts: 100, backoffMs: 50, maxBackoffMs: 250 },
  timeoutMs: 2_000,
  sweepIntervalMs: 200,
  sweepGraceMs: 2_000,
  sweepSilentMs: 60_000,
};

export type PlatformMode = 'ok' | 'fail' | 'redirect' | 'hang';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** 204, 500, 307, or 'hung' when it was never answered. */
  answer: number | 'hung';
}

/**
 * A stand-in data platform over real HTTP on loopback: records every request and answers
 * 204 (`ok`), 500 (`fail`), 307 to another path of its own (`redirect`) or never (`hang`). `stop()` closes the port (connection refused)
 * and `start()` opens the same port again.
 */
export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  mode: PlatformMode;
  /** Requests answered 204, by X-Event-Id. */
  acknowledged(): Map<string, ReceivedRequest[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let port = 0;
  let server: http.Server | undefined;

  const listen = async () => {
    if (server) return;
    const s = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const record: ReceivedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          answer: 'hung',
        };
        requests.push(record);
        if (receiver.mode === 'hang') return;
        if (receiver.mode === 'redirect') {
          record.answer = 307;
          res.writeHead(307, { Location: '/moved' }).end();
          return;
        }
        record.answer = receiver.mode === 'ok' ? 204 : 500;
        res.writeHead(record.answer).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject);
        resolve();
      });
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  const shut = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => {
        resolve();
      });
      s.closeAllConnections();
    });
  };

  await listen();
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/events`,
    requests,
    mode: 'ok',
    acknowledged() {
      const byId = new Map<string, ReceivedRequest[]>();
      for (const r of requests) {
        const id = String(r.headers['x-event-id']);
        if (r.answer === 204) byId.set(id, [...(byId.get(id) ?? []), r]);
      }
      return byId;
    },
    stop: shut,
    start: listen,
    close: shut,
  };
  return receiver;
}

/** The X-Signature a receiver holding PLATFORM_SECRET expects, computed independently. */
export const expectedSignature = (body: string, secret = PLATFORM_SECRET): string =>
  `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;

/** In-process workers over the context's database and Redis, with a config and event options. */
export async function startEventWorkers(
  ctx: TestContext,
  config: Config,
  events: Partial<EventDeliveryOptions> = FAST_EVENTS,
): Promise<RunningWorkers> {
  const redis = createRedisClient(config.redis, 'worker', ctx.logger);
  const running = startWorkers(
    {
      config,
      logger: ctx.logger,
      sequelize: ctx.sequelize,
      connection: redis,
      records: createRequestRecords(redis, config.redis),
    },
    { events },
  );
  await Promise.all(running.workers().map((w) => w.waitUntilReady()));
  let closing: Promise<void> | undefined;
  return {
    ...running,
    close() {
      closing ??= (async () => {
        await running.close();
        await redis.quit();
      })();
      return closing;
    },
  };
}

export interface EventsWorld {
  readonly ctx: TestContext;
  readonly api: RunningApi;
  readonly receiver: Receiver;
  readonly workers: RunningWorkers;
  /** The context's config pointed at the receiver (whether or not the workers use it). */
  readonly platformConfig: Config;
  /** The events queue, for inspecting jobs. */
  readonly events: Queue<EventsJob>;
}

/**
 * This file's database, Redis prefix, app, receiver and workers. With `configured: false`
 * the workers run without DATA_PLATFORM_URL.
 */
export function useEventsWorld(
  options: { configured?: boolean; events?: Partial<EventDeliveryOptions> } = {},
): EventsWorld {
  let state: Omit<EventsWorld, 'workers'> | undefined;
  let workers: RunningWorkers | undefined;
  beforeAll(async () => {
    const receiver = await startReceiver();
    const platform = { DATA_PLATFORM_URL: receiver.url, DATA_PLATFORM_SECRET: PLATFORM_SECRET };
    const ctx = await createTestContext(options.configured === false ? {} : platform);
    const api = await startApi(ctx);
    const platformConfig = loadConfig({ ...ctx.env, ...platform });
    const events = new Queue<EventsJob>(EVENTS_QUEUE, {
      connection: ctx.redis,
      prefix: ctx.config.redis.prefix,
    });
    state = { ctx, api, receiver, platformConfig, events };
    workers = await startEventWorkers(ctx, ctx.config, options.events ?? FAST_EVENTS);
  });
  afterAll(async () => {
    await workers?.close();
    await state?.events.close();
    await state?.api.close();
    await state?.receiver.close();
    await state?.ctx.destroy();
  });
  const get = () => {
    if (!state) throw new Error('only inside tests');
    return state;
  };
  return {
    get ctx() {
      return get().ctx;
    },
    get api() {
      return get().api;
    },
    get receiver() {
      return get().receiver;
    },
    get platformConfig() {
      return get().platformConfig;
    },
    get events() {
      return get().events;
    },
    get workers() {
      if (!workers) throw new Error('only inside tests');
      return workers;
    },
  };
}

export interface EventRow {
  id: string;
  orderId: string;
  status: 'PENDING' | 'DELIVERED' | 'DEAD';
  attempts: number;
  lastError: string | null;
  enqueuedAt: Date | null;
  deliveredAt: Date | null;
}

export async function eventRows(ctx: TestContext, orderIds?: string[]): Promise<EventRow[]> {
  const [rows] = await ctx.sequelize.query(
    `SELECT id, order_id AS orderId, status, attempts, last_error AS lastError,
            enqueued_at AS enqueuedAt, delivered_at AS deliveredAt
     FROM order_events ${orderIds ? 'WHERE order_id IN (?)' : ''} ORDER BY occurred_at, id`,
    orderIds ? { replacements: [orderIds] } : {},
  );
  return rows as EventRow[];
}

export { eventually };

/** Waits until every event of `orderIds` is DELIVERED; returns the rows. */
export async function waitDelivered(
  ctx: TestContext,
  orderIds: string[],
  timeoutMs = 15_000,
): Promise<EventRow[]> {
  let rows: EventRow[] = [];
  await eventually(
    `events of ${orderIds.length} order(s) DELIVERED`,
    async () => {
      rows = await eventRows(ctx, orderIds);
      return rows.length === orderIds.length && rows.every((r) => r.status === 'DELIVERED');
    },
    timeoutMs,
  );
  return rows;
}
