import { setTimeout as sleep } from 'node:timers/promises';
import { FaultProxy } from '../harness/fault-proxy';
import { loadConfig } from '../../shared/config';
import { CHECK_NAMES } from '../../shared/db/reconcile';
import { createRedisLock } from '../../workers/reconcile/lock';
import { leaseFor, RECENT_MARGIN_MS, sinceOfNextRun } from '../../workers/reconcile/schedule';
import { latestReport, type StoredReport } from '../../workers/reconcile/store';
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

  it('When the holder extends its lock, then it outlives its first expiry; nobody else can extend it', async () => {
    const lock = createRedisLock(ctx.redis, `${ctx.config.redis.prefix}:test-lock-extend`);
    const token = (await lock.acquire(200)) ?? '';
    expect(await lock.extend('not-the-token', 10_000)).toBe(false);
    expect(await lock.extend(token, 10_000)).toBe(true);
    await sleep(300);
    expect(await lock.acquire(10_000)).toBeNull();
    expect(await lock.release(token)).toBe(true);
    // Once it expired or was released, the old token extends nothing.
    expect(await lock.extend(token, 10_000)).toBe(false);
    expect(await lock.acquire(10_000)).toEqual(expect.any(String));
  });
});

describe('Which rows a scheduled run checks', () => {
  const DAY_MS = 86_400_000;
  const report = (fields: Partial<StoredReport>): StoredReport => ({
    startedAt: 1_000_000,
    completedAt: 1_001_000,
    drift: { 'stock-conservation': 0 },
    checksOn: 'primary',
    since: null,
    lastFullStartedAt: 1_000_000,
    stuck: {
      order: { count: 0, lowerBound: false, candidates: 0, examined: 0, oldest: [] },
      charge: { count: 0, lowerBound: false, candidates: 0, examined: 0, oldest: [] },
      cancel: { count: 0, lowerBound: false, candidates: 0, examined: 0, oldest: [] },
    },
    repaired: { order: 0, charge: 0, cancel: 0 },
    ...fields,
  });

  it('When a full run is on record, recent and clean, then the next run reads from the start of the last one, less the margin', () => {
    const last = report({ startedAt: 5_000_000, since: 4_000_000 });
    expect(sinceOfNextRun(last, 5_300_000, DAY_MS)).toBe(5_000_000 - RECENT_MARGIN_MS);
  });

  it('When no run is on record, none was full, the last full one is a full interval old, the last run found drift, or full runs are every run, then the next run checks every row', () => {
    expect(sinceOfNextRun(null, 5_000_000, DAY_MS)).toBeNull();
    expect(sinceOfNextRun(report({ lastFullStartedAt: 0 }), 5_000_000, DAY_MS)).toBeNull();
    expect(sinceOfNextRun(report({}), 1_000_000 + DAY_MS, DAY_MS)).toBeNull();
    expect(sinceOfNextRun(report({}), 1_000_000 + DAY_MS - 1, DAY_MS)).toBe(
      1_000_000 - RECENT_MARGIN_MS,
    );
    expect(
      sinceOfNextRun(report({ drift: { 'stock-conservation': 1 } }), 1_300_000, DAY_MS),
    ).toBeNull();
    expect(sinceOfNextRun(report({}), 1_300_000, 0)).toBeNull();
  });

  it('When a run is full, then it may hold the lock four intervals, a recent run one; never less than 30 s', () => {
    expect(leaseFor(300_000, false)).toBe(300_000);
    expect(leaseFor(300_000, true)).toBe(1_200_000);
    expect(leaseFor(1_000, false)).toBe(30_000);
    expect(leaseFor(1_000, true)).toBe(30_000);
    expect(leaseFor(60_000, true)).toBe(240_000);
  });
});

describe('The scheduled reconcile', () => {
  it('When nothing is configured, then it runs every 300 s, checks every row once a day, and counts requests stuck after 300 s', () => {
    expect(loadConfig({}).reconcile).toEqual({
      intervalS: 300,
      fullIntervalS: 86_400,
      stuckAfterS: 300,
    });
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
    // The first run on record checks every row; each later one the rows since the one before.
    const logged = [...completedRuns(a.proc), ...completedRuns(b.proc)].sort(
      (x, y) => Number(x.startedAt) - Number(y.startedAt),
    );
    expect(logged[0]?.scope).toBe('full');
    for (let i = 1; i < logged.length; i++) {
      expect(logged[i]?.scope).toBe('recent');
      expect(logged[i]?.since).toBe(
        new Date(Number(logged[i - 1]?.startedAt) - RECENT_MARGIN_MS).toISOString(),
      );
    }

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
    // A run after one that found drift checks every row: the drift stays in view until fixed.
    const runs = completedRuns(runner.proc);
    const afterDrift = runs.filter((_, i) => Object.keys(runs[i - 1]?.drift ?? {}).length > 0);
    expect(afterDrift.length).toBeGreaterThan(0);
    for (const run of afterDrift) expect(run.scope).toBe('full');
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
