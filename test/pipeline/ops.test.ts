import { setTimeout as sleep } from 'node:timers/promises';
import { QueryTypes } from 'sequelize';
import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { request } from '../harness/http';
import {
  fund,
  insertProduct,
  runOps,
  startBrokenWorkers,
  startInProcessWorkers,
  submitOrder,
  waitForFinal,
} from '../harness/pipeline';
import { runBuilt } from '../harness/process';
import { uuidv7 } from '../../shared/ids';

let ctx: TestContext;
let api: RunningApi;

beforeAll(async () => {
  // Two attempts, 10 ms apart: an unreachable database puts jobs ON_HOLD within a second.
  ctx = await createTestContext({ JOB_ATTEMPTS: '2', JOB_BACKOFF_MS: '10' });
  api = await startApi(ctx);
  await insertProduct(ctx, { id: 1, price: 100, stock: 100 });
});

afterAll(async () => {
  await api.close();
  await ctx.destroy();
});

const ops = (command: string) => runOps(ctx, command);

/** Funds a user and has workers apply its orders of product 1 (one per quantity), all PAID. */
async function paidOrders(userId: number, quantities: number[]): Promise<void> {
  const token = await ctx.tokenFor(userId);
  const workers = await startInProcessWorkers(ctx);
  try {
    await fund(api.baseUrl, token, 1_000);
    for (const quantity of quantities) {
      const order = await submitOrder(api.baseUrl, token, [{ productId: 1, quantity }]);
      expect(
        await waitForFinal<{ status: string }>(api.baseUrl, token, order.statusUrl),
      ).toMatchObject({ status: 'PAID' });
    }
  } finally {
    await workers.close();
  }
}

/** Undoes a case's orders and charges, so the next case starts consistent. */
async function clearHistory(): Promise<void> {
  for (const table of [
    'product_sales_hourly',
    'order_events',
    'balance_ledger',
    'order_items',
    'orders',
    'charges',
    'users',
  ]) {
    await ctx.sequelize.query(`DELETE FROM ${table}`);
  }
  await ctx.sequelize.query('UPDATE products SET stock = 100, sold_quantity = 0 WHERE id = 1');
}

describe('npm run ops -- reconcile', () => {
  it('When the data is consistent, then it reports every invariant as ok and exits 0', async () => {
    const result = await ops('reconcile');
    expect(result.out).toContain('reconcile: every invariant holds');
    expect(result.code).toBe(0);
  });

  it.each([
    [
      'a balance changed behind the ledger',
      'UPDATE users SET balance = balance + 1 WHERE id = 900',
      'balance-equals-ledger-and-history',
    ],
    [
      'stock sold without an order',
      'UPDATE products SET sold_quantity = sold_quantity + 1 WHERE id = 1',
      'stock-conservation',
    ],
    ['a PAID order missing its event', 'DELETE FROM order_events', 'paid-orders-complete'],
    [
      'the sales sums behind the orders',
      'UPDATE product_sales_hourly SET quantity = quantity + 1',
      'top-sellers-sums',
    ],
  ])('When %s, then it names the drift and exits 1', async (_label, tamper, check) => {
    await paidOrders(900, [1]);
    await ctx.sequelize.query(tamper);
    const result = await ops('reconcile');
    expect(result.code).toBe(1);
    expect(result.out).toMatch(new RegExp(`DRIFT\\s+${check}`));
    await clearHistory();
  });
});

describe('npm run ops -- reconcile <time>', () => {
  it('When given a time, then its checks read the rows written since then only; a time it cannot read is a usage error', async () => {
    const before = new Date().toISOString();
    await paidOrders(903, [1]);
    await sleep(20);
    const after = new Date().toISOString();
    // A drift in the user's row that leaves its updated_at as it was.
    await ctx.sequelize.query(
      'UPDATE users SET balance = balance + 1, updated_at = updated_at WHERE id = 903',
    );
    try {
      const recent = await runOps(ctx, 'reconcile', after);
      expect(recent.out).toContain(`reconcile: the rows written since ${after} only`);
      expect(recent.code).toBe(0);
      const covering = await runOps(ctx, 'reconcile', before);
      expect(covering.code).toBe(1);
      expect(covering.out).toMatch(/DRIFT\s+balance-equals-ledger-and-history/);
      expect((await ops('reconcile')).code).toBe(1);
    } finally {
      await ctx.sequelize.query('UPDATE users SET balance = balance - 1 WHERE id = 903');
    }
    expect((await ops('reconcile')).code).toBe(0);

    const bad = await runOps(ctx, 'reconcile', 'yesterday');
    expect(bad.code).toBe(2);
    await clearHistory();
  }, 60_000);
});

describe('npm run ops -- rebuild-sales', () => {
  it('When the sales sums lost an hour, then rebuild-sales recomputes them from the PAID orders and the reconcile holds again', async () => {
    await paidOrders(902, [1, 2]);
    expect((await ops('reconcile')).code).toBe(0);
    await ctx.sequelize.query('DELETE FROM product_sales_hourly');
    expect((await ops('reconcile')).out).toMatch(/DRIFT\s+top-sellers-sums/);

    const rebuilt = await ops('rebuild-sales');
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.out).toMatch(/rebuilt the sales sums since \S+: 1 product-hours/);
    const [sums] = await ctx.sequelize.query<{ quantity: number; revenue: number }>(
      'SELECT quantity, revenue FROM product_sales_hourly WHERE product_id = 1',
      { type: QueryTypes.SELECT },
    );
    expect(sums).toEqual({ quantity: 3, revenue: 300 });
    expect((await ops('reconcile')).code).toBe(0);
  }, 60_000);
});

describe('ON_HOLD and npm run ops -- replay-on-hold', () => {
  it('When every attempt fails for an infrastructure reason, then the order goes ON_HOLD (never FAILED), and replay-on-hold applies it exactly once', async () => {
    const token = await ctx.tokenFor(901);
    const good = await startInProcessWorkers(ctx);
    await fund(api.baseUrl, token, 1_000);
    await good.close();

    const broken = await startBrokenWorkers(ctx);
    const order = await submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 2 }]);
    const held = await waitForFinal<{ status: string }>(api.baseUrl, token, order.statusUrl, {
      stopOnHold: true,
    });
    await broken.close();
    expect(held.status).toBe('ON_HOLD');
    const polled = await request(api.baseUrl, 'GET', order.statusUrl, { token });
    expect(polled.headers.get('retry-after')).toBe('1');

    // An ON_HOLD row whose job is gone (say Redis lost it) is replayed from the database.
    const orphanId = uuidv7();
    await ctx.sequelize.query(
      `INSERT INTO orders (id, user_id, status, idempotency_key, created_at) VALUES (?, 901, 'ON_HOLD', 'orphan', NOW(3))`,
      { replacements: [orphanId] },
    );
    await ctx.sequelize.query(
      'INSERT INTO order_items (order_id, product_id, quantity) VALUES (?, 1, 3)',
      {
        replacements: [orphanId],
      },
    );

    const replay = await ops('replay-on-hold');
    expect(replay.code).toBe(0);
    expect(replay.out).toContain('0 charge(s), 2 order(s) and 0 cancellation(s) re-queued');

    const workers = await startInProcessWorkers(ctx);
    try {
      expect(await waitForFinal(api.baseUrl, token, order.statusUrl)).toMatchObject({
        status: 'PAID',
        totalAmount: 200,
      });
      expect(await waitForFinal(api.baseUrl, token, `/api/orders/${orphanId}`)).toMatchObject({
        status: 'PAID',
        totalAmount: 300,
      });
    } finally {
      await workers.close();
    }
    const balance = await request<{ balance: number }>(api.baseUrl, 'GET', '/api/balance', {
      token,
    });
    expect(balance.body.balance).toBe(500);
    expect((await ops('reconcile')).code).toBe(0);
    expect((await ops('replay-on-hold')).out).toContain(
      '0 charge(s), 0 order(s) and 0 cancellation(s) re-queued',
    );
  }, 60_000);

  it('When asked for help or an unknown command, then it prints the commands', async () => {
    expect((await ops('help')).out).toContain('replay-on-hold');
    const unknown = runBuilt('cli/ops.js', ['frobnicate'], ctx.env);
    expect((await unknown.waitForExit()).code).toBe(2);
    expect(unknown.stderr()).toContain('unknown command');
  });
});
