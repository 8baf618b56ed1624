import { setTimeout as sleep } from 'node:timers/promises';

import { loadConfig } from '../../shared/config';
import { createSequelize } from '../../shared/db/sequelize';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { createRequestRecords } from '../../shared/requests/records';
import { startWorkers, type RunningWorkers } from '../../workers/wiring';
import { createTestContext, startApi, type RunningApi, type TestContext } from './context';
import { request } from './http';
import { runBuilt } from './process';

/** In-process charge and order workers over the context's database and Redis. */
export async function startInProcessWorkers(
  ctx: TestContext,
): Promise<RunningWorkers & { redis: RedisClient }> {
  const redis = createRedisClient(ctx.config.redis, 'worker', ctx.logger);
  const running = startWorkers({
    config: ctx.config,
    logger: ctx.logger,
    sequelize: ctx.sequelize,
    connection: redis,
    records: createRequestRecords(redis, ctx.config.redis),
  });
  await Promise.all(running.workers().map((w) => w.waitUntilReady()));
  return {
    ...running,
    redis,
    async close() {
      await running.close();
      await redis.quit();
    },
  };
}

/**
 * Workers whose database answers but has no tables: every attempt fails for an
 * infrastructure reason that is not an outage (an outage only pauses the queue), so jobs use
 * up their attempts and go ON_HOLD. `close()` stops them and drops their empty database.
 */
export async function startBrokenWorkers(ctx: TestContext): Promise<{ close(): Promise<void> }> {
  const emptyDb = `${ctx.config.database.name}_empty`;
  await ctx.sequelize.query(`CREATE DATABASE IF NOT EXISTS \`${emptyDb}\``);
  const brokenConfig = loadConfig({
    ...ctx.env,
    DATABASE_URL: ctx.config.database.url.replace(/\/[^/]*$/, `/${emptyDb}`),
  });
  const deadDb = createSequelize(brokenConfig.database.url, { poolMax: 2 });
  const redis = createRedisClient(ctx.config.redis, 'worker', ctx.logger);
  const broken = startWorkers({
    config: brokenConfig,
    logger: ctx.logger,
    sequelize: deadDb,
    connection: redis,
    records: createRequestRecords(redis, ctx.config.redis),
  });
  return {
    async close() {
      await broken.close();
      await redis.quit();
      await deadDb.close();
      await ctx.sequelize.query(`DROP DATABASE \`${emptyDb}\``);
    },
  };
}

/** `npm run ops -- <args>` (built) against the context's database and Redis. */
export async function runOps(
  ctx: TestContext,
  ...args: string[]
): Promise<{ code: number | null; out: string }> {
  const proc = runBuilt('cli/ops.js', args, { ...ctx.env, LOG_LEVEL: 'warn' });
  const exit = await proc.waitForExit(30_000);
  return { code: exit.code, out: proc.stdout() };
}

export interface PipelineWorld {
  readonly ctx: TestContext;
  readonly api: RunningApi;
}

/** This file's database, Redis prefix, app and workers (in-process unless `workers: false`). */
export function usePipelineWorld(
  overrides: Record<string, string> = {},
  options: { workers?: boolean } = {},
): PipelineWorld {
  let ctx: TestContext | undefined;
  let api: RunningApi | undefined;
  let workers: RunningWorkers | undefined;
  beforeAll(async () => {
    ctx = await createTestContext(overrides);
    api = await startApi(ctx);
    if (options.workers !== false) workers = await startInProcessWorkers(ctx);
  });
  afterAll(async () => {
    await workers?.close();
    await api?.close();
    await ctx?.destroy();
  });
  return {
    get ctx() {
      if (!ctx) throw new Error('only inside tests');
      return ctx;
    },
    get api() {
      if (!api) throw new Error('only inside tests');
      return api;
    },
  };
}

let keySeq = 0;
/** A fresh Idempotency-Key. */
export const newKey = (label = 'k'): string =>
  `${label}-${Date.now()}-${++keySeq}-${Math.random().toString(36).slice(2)}`;

export async function insertProduct(
  ctx: TestContext,
  product: { id: number; price: number; stock: number; name?: string },
): Promise<void> {
  await ctx.sequelize.query(
    'INSERT INTO products (id, name, description, price, stock) VALUES (?, ?, ?, ?, ?)',
    {
      replacements: [
        product.id,
        product.name ?? `Product ${product.id}`,
        '',
        product.price,
        product.stock,
      ],
    },
  );
}

export interface Submitted {
  status: number;
  id: string;
  statusUrl: string;
  replayed: boolean;
}

/** POSTs an accept and reads the 202's id and status URL (what a client keeps). */
async function submit(
  baseUrl: string,
  token: string,
  path: '/api/charges' | '/api/orders',
  body: object,
  key: string,
): Promise<Submitted> {
  const response = await request<{ chargeId?: string; orderId?: string; statusUrl: string }>(
    baseUrl,
    'POST',
    path,
    { token, body, headers: { 'idempotency-key': key } },
  );
  return {
    status: response.status,
    // Undefined unless the answer was a 202, as the callers expect.
    id: (path === '/api/charges' ? response.body.chargeId : response.body.orderId) as string,
    statusUrl: response.body.statusUrl,
    replayed: response.headers.get('idempotent-replayed') === 'true',
  };
}

export function submitCharge(
  baseUrl: string,
  token: string,
  amount: unknown,
  key = newKey('charge'),
): Promise<Submitted> {
  return submit(baseUrl, token, '/api/charges', { amount }, key);
}

export function submitOrder(
  baseUrl: string,
  token: string,
  items: { productId: number; quantity: number }[],
  key = newKey('order'),
): Promise<Submitted> {
  return submit(baseUrl, token, '/api/orders', { items }, key);
}

/** POSTs a cancellation of an order (no body) and reads its 202 (or whatever it answered). */
export async function submitCancel(
  baseUrl: string,
  token: string,
  orderId: string,
  key = newKey('cancel'),
): Promise<Submitted & { orderStatus: string }> {
  const response = await request<{ orderId: string; status: string; statusUrl: string }>(
    baseUrl,
    'POST',
    `/api/orders/${orderId}/cancel`,
    { token, headers: { 'idempotency-key': key } },
  );
  return {
    status: response.status,
    id: response.body.orderId,
    statusUrl: response.body.statusUrl,
    replayed: response.headers.get('idempotent-replayed') === 'true',
    orderStatus: response.body.status,
    ...(response.status === 202 ? {} : { problem: response.text }),
  };
}

/** Polls an order until it is CANCELLED or FAILED (what an accepted cancellation ends in). */
export async function waitForCancelled<T extends { status: string }>(
  baseUrl: string,
  token: string,
  statusUrl: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await request<T>(baseUrl, 'GET', statusUrl, { token });
    if (response.status !== 200)
      throw new Error(`GET ${statusUrl} answered ${response.status}: ${response.text}`);
    if (response.body.status === 'CANCELLED' || response.body.status === 'FAILED') {
      return response.body;
    }
    if (Date.now() > deadline) {
      throw new Error(`${statusUrl} still ${response.body.status} after the timeout`);
    }
    await sleep(25);
  }
}

const FINAL = new Set(['PAID', 'FAILED', 'COMPLETED', 'CANCELLED']);

/** Polls a status URL until the request is final (or ON_HOLD if `stopOnHold`). */
export async function waitForFinal<T extends { status: string }>(
  baseUrl: string,
  token: string,
  statusUrl: string,
  options: { timeoutMs?: number; stopOnHold?: boolean } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const response = await request<T>(baseUrl, 'GET', statusUrl, { token });
    if (response.status !== 200)
      throw new Error(`GET ${statusUrl} answered ${response.status}: ${response.text}`);
    const { status } = response.body;
    if (FINAL.has(status) || (options.stopOnHold === true && status === 'ON_HOLD'))
      return response.body;
    if (Date.now() > deadline) throw new Error(`${statusUrl} still ${status} after the timeout`);
    await sleep(25);
  }
}

/** Charges a user and waits for the charge to complete. */
export async function fund(baseUrl: string, token: string, amount: number): Promise<void> {
  const submitted = await submitCharge(baseUrl, token, amount);
  const final = await waitForFinal(baseUrl, token, submitted.statusUrl);
  if (final.status !== 'COMPLETED') throw new Error(`funding failed: ${JSON.stringify(final)}`);
}
