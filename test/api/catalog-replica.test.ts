import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import type { Sequelize } from 'sequelize';
import { topSellersKey, type TopProducts } from '../../shared/catalog/top-sellers';
import type { Config } from '../../shared/config';
import { createReplicaSequelizeFromConfig } from '../../shared/db/sequelize';
import { uuidv7 } from '../../shared/ids';
import { createRedis } from '../../shared/redis';
import { createRequestRecords } from '../../shared/requests/records';
import { startWorkers } from '../../workers/wiring';
import { latestReport, reconcileKeys, type StoredReport } from '../../workers/reconcile/store';
import { reconcile } from '../../shared/db/reconcile';
import { insertProducts } from '../harness/builders';
import {
  createTestContext,
  startApiOver,
  type RunningApi,
  type TestContext,
} from '../harness/context';
import { request } from '../harness/http';
import { sharedBase } from '../harness/keys';
import { ReplicatedMariaDb } from '../harness/mariadb';
import { eventually } from '../harness/wait';

/**
 * The real API over a primary and a GTID replica of it, both mariadbd processes of this file's
 * own. Rows written on the replica alone (`writeOnReplicaOnly`) tell where an answer came from:
 * the primary has never heard of them.
 */
const DATABASE = 'shop';
/** Bounded waits, generous for a busy CI machine. */
const SWITCH_MS = 15_000;
/** The contract: a change shows in catalog reads within 5 s. */
const FRESH_MS = 5_000;

const REPLICA_ONLY_PRODUCT = 901;
const REPLICA_ONLY_USER = 777;
const REPLICA_ONLY_ORDER = uuidv7();

let pair: ReplicatedMariaDb;
let ctx: TestContext;
let replica: Sequelize;
let api: RunningApi;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  pair = await ReplicatedMariaDb.start();
  cleanup.push(() => pair.destroy());
  ctx = await createTestContext({
    DATABASE_URL: pair.primary.url(DATABASE),
    DATABASE_REPLICA_URL: pair.replica.url(DATABASE),
    REPLICA_MAX_LAG_S: '2',
    // A busy machine must not time reads out into "replica unavailable".
    API_DB_TIMEOUT_MS: '3000',
    RECONCILE_INTERVAL_S: '0',
  });
  cleanup.push(() => ctx.destroy());
  const connection = createReplicaSequelizeFromConfig(ctx.config);
  if (!connection) throw new Error('DATABASE_REPLICA_URL was not configured');
  replica = connection;
  cleanup.push(() => replica.close());
  await insertProducts(ctx.sequelize, [{ id: 1, stock: 10 }]);
  await pair.caughtUp();
  await pair.writeOnReplicaOnly(
    `INSERT INTO ${DATABASE}.products (id, name, description, price, stock) VALUES (?, ?, '', 500, 3);
     INSERT INTO ${DATABASE}.users (id, balance) VALUES (?, 5000);
     INSERT INTO ${DATABASE}.orders (id, user_id, status, total_amount, idempotency_key, paid_at)
       VALUES (?, ?, 'PAID', 1000, 'replica-only', NOW(3));
     INSERT INTO ${DATABASE}.order_items (order_id, product_id, quantity, unit_price) VALUES (?, ?, 2, 500);
     INSERT INTO ${DATABASE}.product_sales_hourly (hour_start, product_id, quantity, revenue)
       VALUES (DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%d %H:00:00'), ?, 2, 1000)`,
    [
      REPLICA_ONLY_PRODUCT,
      `Replica only ${REPLICA_ONLY_PRODUCT}`,
      REPLICA_ONLY_USER,
      REPLICA_ONLY_ORDER,
      REPLICA_ONLY_USER,
      REPLICA_ONLY_ORDER,
      REPLICA_ONLY_PRODUCT,
      REPLICA_ONLY_PRODUCT,
    ],
  );
  api = await startApiOver({ ...ctx, replica });
  cleanup.push(() => api.close());
}, 120_000);

afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

/** A sample of the API's /metrics: the series `name` with label `key="value"`. */
async function metric(name: string, key: string, value: string): Promise<number | undefined> {
  const { text } = await request(api.baseUrl, 'GET', '/metrics');
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && l.includes(`${key}="${value}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const reads = async (source: 'replica' | 'primary') =>
  (await metric('shop_catalog_reads_total', 'source', source)) ?? NaN;

async function replicaIs(state: 'serving' | 'lagging' | 'unavailable'): Promise<void> {
  await eventually(
    `the replica is ${state}`,
    async () => (await metric('shop_db_replica_state', 'state', state)) === 1,
    SWITCH_MS,
  );
}

const product = (id: number) =>
  request<{ id: number; stock: number; name: string }>(api.baseUrl, 'GET', `/api/products/${id}`);

/** Polls the product until `accept` holds; returns how long that took. */
async function untilProduct(
  id: number,
  accept: (status: number, stock: number | undefined) => boolean,
  timeoutMs: number,
): Promise<number> {
  const startedAt = Date.now();
  await eventually(
    `product ${id} as expected`,
    async () => {
      const response = await product(id);
      return accept(response.status, response.status === 200 ? response.body.stock : undefined);
    },
    timeoutMs,
  );
  return Date.now() - startedAt;
}

describe('Catalog reads with a read replica', () => {
  it('When the replica keeps up, then product pages, the product list and top sellers are read from it', async () => {
    await replicaIs('serving');
    const before = await reads('replica');

    const page = await product(REPLICA_ONLY_PRODUCT);
    expect(page.status).toBe(200);
    expect(page.body.name).toBe(`Replica only ${REPLICA_ONLY_PRODUCT}`);
    const list = await request<{ items: { id: number }[] }>(api.baseUrl, 'GET', '/api/products');
    expect(list.body.items.map((item) => item.id)).toEqual([1, REPLICA_ONLY_PRODUCT]);
    const top = await request<TopProducts>(api.baseUrl, 'GET', '/api/products/top');
    expect(top.body.products).toEqual([
      expect.objectContaining({ rank: 1, productId: REPLICA_ONLY_PRODUCT, soldQuantity: 2 }),
    ]);

    expect((await reads('replica')) - before).toBeGreaterThanOrEqual(3);
    expect(await metric('shop_db_replica_lag_seconds', 'service', 'api')).toBe(0);
  });

  it('When the replica holds balances and orders the primary does not, then balance and order reads still answer from the primary', async () => {
    await replicaIs('serving');
    const token = await ctx.tokenFor(REPLICA_ONLY_USER);
    const balance = await request<{ balance: number }>(api.baseUrl, 'GET', '/api/balance', {
      token,
    });
    expect(balance.status).toBe(200);
    expect(balance.body.balance).toBe(0);
    const orders = await request<{ items: unknown[] }>(api.baseUrl, 'GET', '/api/orders', {
      token,
    });
    expect(orders.body.items).toEqual([]);
    const order = await request(api.baseUrl, 'GET', `/api/orders/${REPLICA_ONLY_ORDER}`, {
      token,
    });
    expect(order.status).toBe(404);
    // Meanwhile the catalog is still served by the replica.
    expect((await product(REPLICA_ONLY_PRODUCT)).status).toBe(200);
  });

  it('When a product changes on the primary, then its page shows the change within 5 s', async () => {
    expect((await product(1)).body.stock).toBe(10);
    await ctx.sequelize.query('UPDATE products SET stock = 7 WHERE id = 1');
    const tookMs = await untilProduct(1, (status, stock) => stock === 7, FRESH_MS + 5_000);
    expect(tookMs).toBeLessThan(FRESH_MS);
  });

  it('When the replica falls REPLICA_MAX_LAG_S behind, then catalog reads go to the primary until it catches up', async () => {
    await replicaIs('serving');
    // A lock held on the replica stalls its SQL thread on the next change of product 1, so
    // its lag grows while both threads run: lag, not a broken replica.
    const blocker = await mysql.createConnection({ uri: pair.replica.url(DATABASE) });
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM products WHERE id = 1 FOR UPDATE');
      await ctx.sequelize.query('UPDATE products SET stock = 6 WHERE id = 1');
      await replicaIs('lagging');
      expect(await metric('shop_db_replica_lag_seconds', 'service', 'api')).toBeGreaterThanOrEqual(
        2,
      );
      await untilProduct(1, (status, stock) => stock === 6, SWITCH_MS);
      // The replica's own product: the primary answers now.
      await untilProduct(REPLICA_ONLY_PRODUCT, (status) => status === 404, SWITCH_MS);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
    await replicaIs('serving');
    await untilProduct(REPLICA_ONLY_PRODUCT, (status) => status === 200, SWITCH_MS);
  }, 60_000);

  it('When replication stops, then catalog reads move to the primary with fresh data, and come back to the replica when it resumes', async () => {
    await pair.stopReplication();
    await replicaIs('unavailable');
    expect(await metric('shop_db_replica_lag_seconds', 'service', 'api')).toBe(-1);
    const primaryBefore = await reads('primary');

    // The replica no longer hears of this change; the primary shows it within the bound.
    await ctx.sequelize.query('UPDATE products SET stock = 5 WHERE id = 1');
    const tookMs = await untilProduct(1, (status, stock) => stock === 5, FRESH_MS + 5_000);
    expect(tookMs).toBeLessThan(FRESH_MS);
    // The primary has never had the replica's own product.
    await untilProduct(REPLICA_ONLY_PRODUCT, (status) => status === 404, FRESH_MS + 5_000);
    expect((await reads('primary')) - primaryBefore).toBeGreaterThan(0);

    await pair.startReplication();
    await replicaIs('serving');
    await untilProduct(REPLICA_ONLY_PRODUCT, (status) => status === 200, FRESH_MS + 5_000);
    expect((await product(1)).body.stock).toBe(5);
  }, 60_000);

  it('When workers precompute the top sellers, then they read the ranking from the replica', async () => {
    await replicaIs('serving');
    await withReplicaWorkers(ctx.config, async (redis) => {
      let ranking: TopProducts | undefined;
      await eventually(
        'the workers precomputed the ranking',
        async () => {
          const json = await redis.get(topSellersKey(sharedBase(ctx, 'catalog')));
          ranking = json === null ? undefined : (JSON.parse(json) as TopProducts);
          return ranking !== undefined;
        },
        SWITCH_MS,
      );
      expect(ranking?.products.map((p) => p.productId)).toEqual([REPLICA_ONLY_PRODUCT]);
    });
  });

  it("When the replica keeps up, then the workers' scheduled reconcile runs its checks on it", async () => {
    await replicaIs('serving');
    // The replica-only PAID order has no event and no ledger row: drift there, not on the primary.
    const report = await reconcileReport('replica');
    expect(report.drift['paid-orders-complete']).toBe(1);
    const onPrimary = (await reconcile(ctx.sequelize)).find(
      (check) => check.name === 'paid-orders-complete',
    );
    expect(onPrimary?.violations).toEqual([]);
  });

  it('When the replica process is SIGKILLed, then catalog reads go to the primary and no read answers 5xx', async () => {
    await replicaIs('serving');
    const statuses: number[] = [];
    let reading = true;
    const paths = ['/api/products/1', '/api/products?limit=5', '/api/products/top'];
    const readers = paths.map(async (path) => {
      while (reading) {
        statuses.push((await request(api.baseUrl, 'GET', path)).status);
        await sleep(20);
      }
    });
    try {
      await sleep(300);
      await pair.replica.kill();
      await replicaIs('unavailable');
      await ctx.sequelize.query('UPDATE products SET stock = 4 WHERE id = 1');
      const tookMs = await untilProduct(1, (status, stock) => stock === 4, FRESH_MS + 5_000);
      expect(tookMs).toBeLessThan(FRESH_MS);
    } finally {
      reading = false;
      await Promise.all(readers);
    }
    expect(statuses.length).toBeGreaterThan(30);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  }, 60_000);

  it("When the replica is gone, then the workers' reconcile runs its checks on the primary", async () => {
    await replicaIs('unavailable');
    const report = await reconcileReport('primary');
    expect(report.drift['paid-orders-complete']).toBe(0);
  }, 60_000);
});

/**
 * A report, with its checks on `on`, of a worker process over the primary and the replica that
 * reconciles every second (its runs before the replica is first judged read the primary).
 */
async function reconcileReport(on: StoredReport['checksOn']): Promise<StoredReport> {
  const config = { ...ctx.config, reconcile: { ...ctx.config.reconcile, intervalS: 1 } };
  const prefix = sharedBase(ctx, 'reconcile');
  await ctx.redis.del(reconcileKeys(prefix).report, reconcileKeys(prefix).lastStart);
  return withReplicaWorkers(config, async (redis) => {
    const found: { report: StoredReport | null } = { report: null };
    await eventually(
      `a reconcile report from the ${on}`,
      async () => {
        found.report = await latestReport(redis, prefix);
        return found.report?.checksOn === on;
      },
      SWITCH_MS + 10_000,
    );
    if (found.report === null) throw new Error('no reconcile report');
    return found.report;
  });
}

/** Runs `body` beside one process's workers over the primary and the replica, then stops them. */
async function withReplicaWorkers<T>(
  config: Config,
  body: (redis: Redis) => Promise<T>,
): Promise<T> {
  const redis: Redis = createRedis(ctx.config.redis.url, 'worker', ctx.logger);
  const workers = startWorkers({
    config,
    logger: ctx.logger,
    sequelize: ctx.sequelize,
    replica,
    connection: redis,
    records: createRequestRecords(redis, ctx.config.redis),
  });
  try {
    return await body(redis);
  } finally {
    await workers.close();
    await redis.quit();
  }
}
