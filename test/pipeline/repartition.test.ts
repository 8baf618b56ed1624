import { loadConfig, type Config } from '../../shared/config';
import { reconcile } from '../../shared/db/reconcile';
import { createRedisClient } from '../../shared/redis';
import { createRequestRecords } from '../../shared/requests/records';
import { startWorkers, type RunningWorkers } from '../../workers/wiring';
import {
  createTestContext,
  startApiOver,
  type RunningApi,
  type TestContext,
} from '../harness/context';
import { request } from '../harness/http';
import { fund, insertProduct, newKey, submitOrder, waitForFinal } from '../harness/pipeline';

/**
 * The procedure of runbooks/re-partitioning.md, run for real: orders accepted under one
 * partition are still answered, replayed and applied after the system moves to four, while
 * the previous layout is drained (QUEUE_PARTITIONS_PREVIOUS); then the previous layout is
 * dropped and nothing was lost or applied twice.
 */
let ctx: TestContext;
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  ctx = await createTestContext({ QUEUE_PARTITIONS: '1' });
  await insertProduct(ctx, { id: 1, price: 100, stock: 1_000 });
});

afterAll(async () => {
  for (const resource of opened.reverse()) await resource.close();
  await ctx.destroy();
});

const configWith = (env: Record<string, string>): Config => loadConfig({ ...ctx.env, ...env });

async function api(config: Config): Promise<RunningApi> {
  const running = await startApiOver({ ...ctx, config });
  opened.push(running);
  return running;
}

async function workers(config: Config): Promise<RunningWorkers> {
  const redis = createRedisClient(config.redis, 'worker', ctx.logger);
  const running = startWorkers({
    config,
    logger: ctx.logger,
    sequelize: ctx.sequelize,
    connection: redis,
    records: createRequestRecords(redis, config.redis),
  });
  await Promise.all(running.workers().map((w) => w.waitUntilReady()));
  let closed: Promise<void> | undefined;
  const closable = {
    close() {
      closed ??= (async () => {
        await running.close();
        await redis.quit();
      })();
      return closed;
    },
  };
  opened.push(closable);
  return { ...running, close: closable.close };
}

const ORDER = [{ productId: 1, quantity: 1 }];

describe('Changing QUEUE_PARTITIONS on a running system (runbooks/re-partitioning.md)', () => {
  it('When the partitions go from 1 to 4 with the previous layout drained, then every order accepted before or after is applied once, and replays and status reads keep working', async () => {
    const users = [41, 42, 43, 44, 45];
    const tokens = await Promise.all(users.map((u) => ctx.tokenFor(u)));

    // Before: one partition, no worker yet — orders wait in the old layout.
    const before = await api(configWith({ QUEUE_PARTITIONS: '1' }));
    const beforeWorkers = await workers(configWith({ QUEUE_PARTITIONS: '1' }));
    for (const token of tokens) await fund(before.baseUrl, token, 10_000);
    await beforeWorkers.close();
    const keys = users.map(() => newKey('old'));
    const old = await Promise.all(
      tokens.map((token, i) => submitOrder(before.baseUrl, token, ORDER, keys[i])),
    );

    // Step 1 of the runbook: every process with QUEUE_PARTITIONS=4, QUEUE_PARTITIONS_PREVIOUS=1.
    const during = configWith({ QUEUE_PARTITIONS: '4', QUEUE_PARTITIONS_PREVIOUS: '1' });
    const moving = await api(during);
    // A replay of an old key on the new layout answers the first order.
    const replay = await request<{ orderId: string }>(moving.baseUrl, 'POST', '/api/orders', {
      token: tokens[0] ?? '',
      body: { items: ORDER },
      headers: { 'idempotency-key': keys[0] ?? '' },
    });
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.orderId).toBe(old[0]?.id);
    // Old orders are still visible, PENDING, through the new layout's API.
    const pending = await request<{ status: string }>(
      moving.baseUrl,
      'GET',
      old[1]?.statusUrl ?? '',
      {
        token: tokens[1] ?? '',
      },
    );
    expect(pending.body.status).toBe('PENDING');

    // Workers of the new configuration drain both layouts; new orders use the new one.
    await workers(during);
    const fresh = await Promise.all(
      tokens.map((token) => submitOrder(moving.baseUrl, token, ORDER)),
    );
    for (const [i, order] of [...old, ...fresh].entries()) {
      const token = tokens[i % tokens.length] ?? '';
      expect(await waitForFinal(moving.baseUrl, token, order.statusUrl)).toMatchObject({
        status: 'PAID',
      });
    }

    // Step 3: once the previous layout is empty, drop QUEUE_PARTITIONS_PREVIOUS.
    const after = configWith({ QUEUE_PARTITIONS: '4' });
    const settled = await api(after);
    await workers(after);
    const later = await submitOrder(settled.baseUrl, tokens[2] ?? '', ORDER);
    expect(await waitForFinal(settled.baseUrl, tokens[2] ?? '', later.statusUrl)).toMatchObject({
      status: 'PAID',
    });
    // An old order's outcome is still served (from the database once its record is not found).
    const oldStatus = await request<{ status: string }>(
      settled.baseUrl,
      'GET',
      old[3]?.statusUrl ?? '',
      { token: tokens[3] ?? '' },
    );
    expect(oldStatus.body.status).toBe('PAID');

    // Every user paid for exactly the orders it placed: 3 for user 43, 2 for the others.
    const [rows] = await ctx.sequelize.query(
      "SELECT user_id AS userId, COUNT(*) AS n FROM orders WHERE status = 'PAID' GROUP BY user_id ORDER BY user_id",
    );
    expect(rows).toEqual(users.map((u) => ({ userId: u, n: u === 43 ? 3 : 2 })));
    const drift = (await reconcile(ctx.sequelize)).filter((c) => c.violations.length > 0);
    expect(drift).toEqual([]);
  }, 60_000);
});
