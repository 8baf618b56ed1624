import { setTimeout as sleep } from 'node:timers/promises';
import { reconcile } from '../../shared/db/reconcile';
import { createTestContext, type TestContext } from '../harness/context';
import { request } from '../harness/http';
import {
  fund,
  insertProduct,
  newKey,
  submitOrder,
  waitForFinal,
  type Submitted,
} from '../harness/pipeline';
import { builtProcesses } from '../harness/built-processes';

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

const countRows = async (sql: string): Promise<number> => {
  const [rows] = await ctx.sequelize.query(sql);
  return Number(Object.values((rows as Record<string, unknown>[])[0] ?? {})[0]);
};

describe('Real processes', () => {
  it('When two API and two worker processes share the database and Redis, then every order is applied exactly once', async () => {
    await insertProduct(ctx, { id: 1, price: 100, stock: 1_000 });
    await insertProduct(ctx, { id: 2, price: 250, stock: 30 });
    const apis = [await startApi(), await startApi()];
    await startWorkers();
    await startWorkers();
    const users = await Promise.all(Array.from({ length: 20 }, (_, i) => ctx.tokenFor(500 + i)));
    await Promise.all(users.map((token, i) => fund(apis[i % 2] ?? '', token, 5_000)));

    const submissions: { api: string; token: string; submitted: Submitted }[] = [];
    await Promise.all(
      users.flatMap((token, u) =>
        Array.from({ length: 10 }, async (_, n) => {
          const api = apis[(u + n) % 2] ?? '';
          const submitted = await submitOrder(api, token, [
            { productId: 1, quantity: 1 + (n % 3) },
            { productId: 2, quantity: 1 },
          ]);
          submissions.push({ api, token, submitted });
        }),
      ),
    );
    // The same key sent to both APIs at once is still one order.
    const key = newKey();
    const token = users[0] ?? '';
    const [a, b] = await Promise.all(
      apis.map((api) => submitOrder(api, token, [{ productId: 1, quantity: 1 }], key)),
    );
    expect(a?.id).toBe(b?.id);

    const finals = await Promise.all(
      submissions.map((s) =>
        waitForFinal<{ status: string }>(s.api, s.token, s.submitted.statusUrl, {
          timeoutMs: 60_000,
        }),
      ),
    );
    expect(finals.filter((o) => o.status === 'PAID')).toHaveLength(30);
    expect(await countRows('SELECT stock FROM products WHERE id = 2')).toBe(0);
    expect((await reconcile(ctx.sequelize)).filter((c) => c.violations.length > 0)).toEqual([]);
  }, 120_000);

  it('When a worker is SIGKILLed while orders flow, then every order still ends final and money and stock are conserved', async () => {
    await insertProduct(ctx, { id: 3, price: 10, stock: 100_000 });
    const api = await startApi();
    const victim = await startWorkers();
    await startWorkers();
    const users = await Promise.all(Array.from({ length: 10 }, (_, i) => ctx.tokenFor(700 + i)));
    await Promise.all(users.map((token) => fund(api, token, 100_000)));

    const submissions: { token: string; submitted: Submitted }[] = [];
    const submitting = (async () => {
      for (let round = 0; round < 40; round++) {
        await Promise.all(
          users.map(async (token) => {
            submissions.push({
              token,
              submitted: await submitOrder(api, token, [{ productId: 3, quantity: 1 }]),
            });
          }),
        );
      }
    })();
    // Kill a worker in the middle of the flow, with jobs in its hands.
    while (submissions.length < 120) await sleep(10);
    expect(victim.logs().some((l) => l.message === 'order processed')).toBe(true);
    victim.child.kill('SIGKILL');
    await victim.waitForExit();
    await submitting;

    expect(submissions.every((s) => s.submitted.status === 202)).toBe(true);
    const finals = await Promise.all(
      submissions.map((s) =>
        waitForFinal<{ status: string }>(api, s.token, s.submitted.statusUrl, {
          timeoutMs: 60_000,
        }),
      ),
    );
    expect(finals.filter((o) => o.status === 'PAID')).toHaveLength(400);
    expect(await countRows('SELECT COUNT(*) FROM orders WHERE user_id BETWEEN 700 AND 709')).toBe(
      400,
    );
    expect(await countRows('SELECT stock FROM products WHERE id = 3')).toBe(100_000 - 400);
    expect((await reconcile(ctx.sequelize)).filter((c) => c.violations.length > 0)).toEqual([]);
  }, 120_000);

  it('When a worker gets SIGTERM with jobs in flight, then it finishes them and exits 0', async () => {
    await insertProduct(ctx, { id: 4, price: 10, stock: 10_000 });
    const api = await startApi();
    const token = await ctx.tokenFor(800);
    const workers = await startWorkers();
    await fund(api, token, 100_000);
    const submitted = await Promise.all(
      Array.from({ length: 100 }, () => submitOrder(api, token, [{ productId: 4, quantity: 1 }])),
    );
    workers.child.kill('SIGTERM');
    expect(await workers.waitForExit(15_000)).toEqual({ code: 0, signal: null });
    expect(workers.logs().some((l) => l.message === 'shut down cleanly')).toBe(true);

    // Whatever it had not taken yet is still queued, and a new worker finishes it.
    await startWorkers();
    const finals = await Promise.all(
      submitted.map((s) =>
        waitForFinal<{ status: string }>(api, token, s.statusUrl, { timeoutMs: 30_000 }),
      ),
    );
    expect(finals.every((o) => o.status === 'PAID')).toBe(true);
    const balance = await request<{ balance: number }>(api, 'GET', '/api/balance', { token });
    expect(balance.body.balance).toBe(100_000 - 100 * 10);
  }, 60_000);
});
