import { setTimeout as sleep } from 'node:timers/promises';
import { reconcile } from '../../shared/db/reconcile';
import type { OrderView } from '../../shared/views';
import { createTestContext, type TestContext } from '../harness/context';
import { request } from '../harness/http';
import {
  fund,
  insertProduct,
  newKey,
  submitCancel,
  submitOrder,
  waitForCancelled,
  waitForFinal,
  type Submitted,
} from '../harness/pipeline';
import { builtProcesses } from '../harness/built-processes';

/**
 * Cancellations racing their orders, each other and a killed worker, on real processes: two API
 * processes and two worker processes over one database and Redis. Every case must end in one of
 * the contract's two outcomes (CANCELLED refunded in full after a payment, or CANCELLED with
 * nothing refunded before one) with money and stock conserved.
 */
let ctx: TestContext;
const processes = builtProcesses(() => ctx);

beforeAll(async () => {
  ctx = await createTestContext();
});

afterEach(async () => {
  await processes.stopAll();
});

afterAll(async () => {
  await ctx.destroy();
});

const startApi = () => processes.api();
const startWorkers = () => processes.workers();

const count = async (sql: string, replacements: unknown[] = []): Promise<number> => {
  const [rows] = await ctx.sequelize.query(sql, { replacements });
  return Number(Object.values((rows as Record<string, unknown>[])[0] ?? {})[0]);
};

const balanceOf = async (api: string, token: string): Promise<number> =>
  (await request<{ balance: number }>(api, 'GET', '/api/balance', { token })).body.balance;

async function expectReconcileClean(): Promise<void> {
  expect((await reconcile(ctx.sequelize)).filter((c) => c.violations.length > 0)).toEqual([]);
}

describe('Cancellations racing on real processes', () => {
  it('When cancellations race their orders (before, during, after processing) and are sent twice to two API processes, then each order ends CANCELLED once and money and stock are conserved', async () => {
    await insertProduct(ctx, { id: 10, price: 100, stock: 10_000 });
    const apis = [await startApi(), await startApi()];
    await startWorkers();
    await startWorkers();
    const users = await Promise.all(Array.from({ length: 12 }, (_, i) => ctx.tokenFor(900 + i)));
    await Promise.all(users.map((token, i) => fund(apis[i % 2] ?? '', token, 10_000)));

    const when = ['before', 'during', 'after', 'never'] as const;
    const placed: { token: string; order: Submitted; when: (typeof when)[number] }[] = [];
    const duplicates: { first: boolean; second: boolean; same: boolean }[] = [];
    await Promise.all(
      users.flatMap((token, u) =>
        when.map(async (moment, n) => {
          const api = apis[(u + n) % 2] ?? '';
          const order = await submitOrder(api, token, [{ productId: 10, quantity: 1 + (n % 3) }]);
          expect(order.status).toBe(202);
          placed.push({ token, order, when: moment });
          if (moment === 'never') return;
          if (moment === 'during') await sleep(Math.random() * 30);
          if (moment === 'after') await waitForFinal(api, token, order.statusUrl);
          // The same cancellation sent to both API processes at once.
          const key = newKey('cancel');
          const [a, b] = await Promise.all(
            apis.map((each) => submitCancel(each, token, order.id, key)),
          );
          expect([a?.status, b?.status]).toEqual([202, 202]);
          duplicates.push({
            first: a?.replayed === true,
            second: b?.replayed === true,
            same: a?.orderStatus === b?.orderStatus && a?.id === b?.id,
          });
        }),
      ),
    );
    // Exactly one of each pair claimed the key; the other replayed its answer.
    expect(duplicates.filter((d) => d.first === d.second || !d.same)).toEqual([]);

    const api = apis[0] ?? '';
    let spent = 0;
    const finals = await Promise.all(
      placed.map(async ({ token, order, when: moment }) => {
        const view =
          moment === 'never'
            ? await waitForFinal<OrderView>(api, token, order.statusUrl, { timeoutMs: 60_000 })
            : await waitForCancelled<OrderView>(api, token, order.statusUrl, 60_000);
        return { view, moment };
      }),
    );
    for (const { view, moment } of finals) {
      if (moment === 'never') {
        expect(view.status).toBe('PAID');
        spent += view.totalAmount ?? 0;
        continue;
      }
      expect(view.status).toBe('CANCELLED');
      // One of the contract's two outcomes: refunded in full after a payment, or nothing taken.
      expect(
        view.paidAt === null ? view.refundedAmount === 0 : view.refundedAmount === view.totalAmount,
      ).toBe(true);
      if (moment === 'after') expect(view.refundedAmount).toBe(view.totalAmount);
    }
    const balances = await Promise.all(users.map((token) => balanceOf(api, token)));
    expect(balances.reduce((a, b) => a + b, 0)).toBe(users.length * 10_000 - spent);
    expect(await count('SELECT COUNT(*) FROM order_cancellations WHERE user_id >= 900')).toBe(
      users.length * 3,
    );
    expect(
      await count(
        "SELECT COUNT(*) FROM balance_ledger WHERE source_type = 'refund' AND user_id >= 900",
      ),
    ).toBe(finals.filter((f) => (f.view.refundedAmount ?? 0) > 0).length);
    await expectReconcileClean();
  }, 180_000);

  it('When the last unit is freed by a cancellation while others order it, then it is sold exactly once', async () => {
    await insertProduct(ctx, { id: 11, price: 50, stock: 1 });
    const apis = [await startApi(), await startApi()];
    await startWorkers();
    await startWorkers();
    const owner = await ctx.tokenFor(950);
    const buyers = await Promise.all(Array.from({ length: 6 }, (_, i) => ctx.tokenFor(951 + i)));
    await Promise.all([owner, ...buyers].map((token) => fund(apis[0] ?? '', token, 1_000)));
    const first = await submitOrder(apis[0] ?? '', owner, [{ productId: 11, quantity: 1 }]);
    expect((await waitForFinal(apis[0] ?? '', owner, first.statusUrl)).status).toBe('PAID');

    const [cancel, ...orders] = await Promise.all([
      submitCancel(apis[1] ?? '', owner, first.id),
      ...buyers.map((token, i) =>
        submitOrder(apis[i % 2] ?? '', token, [{ productId: 11, quantity: 1 }]),
      ),
    ]);
    expect(cancel.status).toBe(202);
    await waitForCancelled(apis[0] ?? '', owner, first.statusUrl, 60_000);
    const finals = await Promise.all(
      orders.map((o, i) =>
        waitForFinal<OrderView>(apis[0] ?? '', buyers[i] ?? '', o.statusUrl, { timeoutMs: 60_000 }),
      ),
    );
    const paid = finals.filter((o) => o.status === 'PAID').length;
    // The freed unit went to at most one buyer; if it came back after them all, it is in stock.
    expect(paid).toBeLessThanOrEqual(1);
    expect(paid + (await count('SELECT stock FROM products WHERE id = 11'))).toBe(1);
    if (paid === 0) {
      const late = await ctx.tokenFor(960);
      await fund(apis[0] ?? '', late, 1_000);
      const order = await submitOrder(apis[1] ?? '', late, [{ productId: 11, quantity: 1 }]);
      expect((await waitForFinal(apis[1] ?? '', late, order.statusUrl)).status).toBe('PAID');
    }
    expect(await count('SELECT stock FROM products WHERE id = 11')).toBe(0);
    await expectReconcileClean();
  }, 120_000);

  it('When a worker is SIGKILLed while cancellations flow, then every order still ends CANCELLED, refunded exactly once', async () => {
    await insertProduct(ctx, { id: 12, price: 10, stock: 100_000 });
    const api = await startApi();
    const victim = await startWorkers();
    await startWorkers();
    const users = await Promise.all(Array.from({ length: 8 }, (_, i) => ctx.tokenFor(970 + i)));
    await Promise.all(users.map((token) => fund(api, token, 10_000)));
    const orders = await Promise.all(
      users.flatMap((token) =>
        Array.from({ length: 20 }, async () => ({
          token,
          order: await submitOrder(api, token, [{ productId: 12, quantity: 2 }]),
        })),
      ),
    );
    await Promise.all(orders.map(({ token, order }) => waitForFinal(api, token, order.statusUrl)));

    const cancelling = Promise.all(
      orders.map(({ token, order }) => submitCancel(api, token, order.id)),
    );
    // Kill a worker once it has applied some cancellations and holds others.
    for (let i = 0; i < 600 && !victim.logs().some((l) => l.message === 'cancel processed'); i++) {
      await sleep(10);
    }
    expect(victim.logs().some((l) => l.message === 'cancel processed')).toBe(true);
    victim.child.kill('SIGKILL');
    await victim.waitForExit();
    expect((await cancelling).every((c) => c.status === 202)).toBe(true);

    const finals = await Promise.all(
      orders.map(({ token, order }) =>
        waitForCancelled<OrderView>(api, token, order.statusUrl, 60_000),
      ),
    );
    expect(finals.every((o) => o.status === 'CANCELLED' && o.refundedAmount === 20)).toBe(true);
    const balances = await Promise.all(users.map((token) => balanceOf(api, token)));
    expect(balances).toEqual(users.map(() => 10_000));
    expect(await count('SELECT stock FROM products WHERE id = 12')).toBe(100_000);
    expect(
      await count(
        "SELECT COUNT(*) FROM balance_ledger WHERE source_type = 'refund' AND user_id BETWEEN 970 AND 977",
      ),
    ).toBe(orders.length);
    await expectReconcileClean();
  }, 180_000);
});
