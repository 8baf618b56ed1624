import { setTimeout as sleep } from 'node:timers/promises';
import { FaultProxy } from '../harness/fault-proxy';
import { loadConfig } from '../../shared/config';
import { CHECK_NAMES } from '../../shared/db/reconcile';
import { createRedisLock } from '../../workers/reconcile/lock';
import { latestReport } from '../../workers/reconcile/store';
import { createTestContext, type TestContext } from '../harness/context';
import { insertProduct, startInProcessWorkers } from '../harness/pipeline';
import type { RunningProcess } from '../harness/process';
import { eventually } from '../harness/wait';
import {
  completedRuns,
  drift,
  duration,
  lastRun,
  nowS,
  samplesAfter,
  startWorkerProcess,
  stopWorkers,
  stuck,
} from './reconcile-support';
import { scrape } from './scrape';
import { sharedBase } from '../harness/keys';

/**
 * The scheduled reconcile in real worker processes, one run a second: one at a time across
 * processes, its gauges the same everywhere, its failures survived, its timer closed.
 */
let ctx: TestContext;
const running: RunningProcess[] = [];

beforeAll(async () => {
  ctx = await createTestContext({ RECONCILE_INTERVAL_S: '1' });
  await insertProduct(ctx, { id: 1, price: 10, stock: 1_000 });
});

afterEach(async () => {
  await stopWorkers(running);
});

afterAll(async () => {
  await ctx.destroy();
});

const startWorker = (env: Record<string, string> = {}) => startWorkerProcess(ctx, running, env);

describe('The reconcile lock', () => {
  it('When one holder has the lock, then nobody else gets it or releases it, the holder releases it, and it expires by itself', async () => {
    const key = `${ctx.config.redis.prefix}:test-lock`;
    const lock = createRedisLock(ctx.redis, key);
    const token = await lock.acquire(10_000);
    expect(token).toEqual(expect.any(String));
    expect(await lock.acquire(10_000)).toBeNull();
    expect(await lock.release('not-the-token')).toBe(false);
    expect(await lock.acquire(10_000)).toBeNull();
    expect(await lock.release(token ?? '')).toBe(true);

    const short = await lock.acquire(200);
    expect(short).toEqual(expect.any(String));
    await sleep(300);
    const next = await lock.acquire(10_000);
    expect(next).toEqual(expect.any(String));
    // The first holder's lock expired: its release must not free the second's.
    expect(await lock.release(short ?? '')).toBe(false);
    expect(await lock.acquire(10_000)).toBeNull();
    await lock.release(next ?? '');
  });
});

describe('The scheduled reconcile', () => {
  it('When nothing is configured, then it runs every 300 s and counts requests stuck after 300 s', () => {
    expect(loadConfig({}).reconcile).toEqual({ intervalS: 300, stuckAfterS: 300 });
  });

  it('When two worker processes run it every second, then one runs at a time, at most once per interval, and a process with the schedule off exports the same values', async () => {
    const since = nowS();
    const a = await startWorker();
    const b = await startWorker();
    const off = await startWorker({ RECONCILE_INTERVAL_S: '0' });
    await sleep(4_000);

    const runs = [...completedRuns(a.proc), ...completedRuns(b.proc)]
      .map((line) => ({ startedAt: Number(line.startedAt), completedAt: Number(line.completedAt) }))
      .sort((x, y) => x.startedAt - y.startedAt);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    // Never two at once, and never two in one second of the grid.
    for (let i = 1; i < runs.length; i++) {
      const [previous, current] = [runs[i - 1], runs[i]];
      expect(current?.startedAt).toBeGreaterThanOrEqual(previous?.completedAt ?? 0);
      expect(Math.floor((current?.startedAt ?? 0) / 1_000)).toBeGreaterThan(
        Math.floor((previous?.startedAt ?? 0) / 1_000),
      );
    }
    expect(completedRuns(off.proc)).toEqual([]);

    // Same values everywhere: the latest stored report, read between two runs.
    await eventually('all three processes show the same last run', async () => {
      const first = lastRun(await scrape(a.metricsUrl));
      const others = await Promise.all(
        [b, off].map(async (w) => lastRun(await scrape(w.metricsUrl))),
      );
      const again = lastRun(await scrape(a.metricsUrl));
      return first > since && first === again && others.every((v) => v === first);
    });
    // How long that run took, as its runner logged it.
    await eventually("the duration shown is a logged run's", async () => {
      const shown = duration(await scrape(off.metricsUrl));
      return [...completedRuns(a.proc), ...completedRuns(b.proc)].some(
        (line) => (Number(line.completedAt) - Number(line.startedAt)) / 1_000 === shown,
      );
    });
    const samples = await scrape(off.metricsUrl);
    for (const check of CHECK_NAMES) expect(drift(samples, check)).toBe(0);
    expect(stuck(samples, 'order')).toBe(0);
    expect(stuck(samples, 'charge')).toBe(0);
  }, 60_000);

  it('When a product drifts, then every worker exports shop_reconcile_drift for its check, and 0 again once it is fixed', async () => {
    const runner = await startWorker();
    const off = await startWorker({ RECONCILE_INTERVAL_S: '0' });
    let since = nowS();
    await ctx.sequelize.query('UPDATE products SET sold_quantity = sold_quantity + 1 WHERE id = 1');
    try {
      for (const samples of await samplesAfter([runner, off], since)) {
        expect(drift(samples, 'stock-conservation')).toBe(1);
        expect(drift(samples, 'balance-nonnegative')).toBe(0);
      }
    } finally {
      await ctx.sequelize.query(
        'UPDATE products SET sold_quantity = sold_quantity - 1 WHERE id = 1',
      );
    }
    since = nowS();
    for (const samples of await samplesAfter([runner, off], since)) {
      expect(drift(samples, 'stock-conservation')).toBe(0);
    }
  }, 60_000);

  it('When the database is down at a tick, then the failure is logged, the worker keeps running, and a later interval completes', async () => {
    const proxy = await FaultProxy.start(Number(new URL(ctx.config.database.url).port || 3306));
    try {
      const url = new URL(ctx.config.database.url);
      url.port = String(proxy.port);
      const worker = await startWorker({ DATABASE_URL: url.toString() });
      await eventually('a reconcile completes', () => completedRuns(worker.proc).length > 0);
      proxy.cut('refuse');
      await worker.proc.waitForLog('reconcile failed; next try at the next interval', 15_000);
      await sleep(1_500);
      expect(worker.proc.child.exitCode).toBeNull();
      const before = completedRuns(worker.proc).length;
      await proxy.restore();
      await eventually(
        'a reconcile completes after the outage',
        () => completedRuns(worker.proc).length > before,
        20_000,
      );
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('When the workers close, then the schedule stops with them', async () => {
    const workers = await startInProcessWorkers(ctx);
    let report = await latestReport(ctx.redis, sharedBase(ctx, 'reconcile'));
    const first = report?.completedAt ?? 0;
    await eventually('an in-process reconcile completes', async () => {
      report = await latestReport(ctx.redis, sharedBase(ctx, 'reconcile'));
      return (report?.completedAt ?? 0) > first;
    });
    await workers.close();
    const closedAt = (await latestReport(ctx.redis, sharedBase(ctx, 'reconcile')))?.completedAt;
    await sleep(2_500);
    expect((await latestReport(ctx.redis, sharedBase(ctx, 'reconcile')))?.completedAt).toBe(
      closedAt,
    );
  }, 30_000);
});
