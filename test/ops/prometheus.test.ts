import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { FaultProxy } from '../harness/fault-proxy';
import { createTestContext, type TestContext } from '../harness/context';
import { request } from '../harness/http';
import { insertProduct, submitOrder, waitForFinal } from '../harness/pipeline';
import { runBuilt, type RunningProcess } from '../harness/process';
import { startPrometheus, type RunningPrometheus } from '../harness/prometheus';
import { eventually } from '../harness/wait';

/**
 * A real Prometheus (the Debian package) loads the project's own runbooks/alerts.yml, scrapes a
 * real API and a real worker process every second, and evaluates the rules while the database
 * is cut and restored through the chaos fault proxy: the rules load, the targets answer, and
 * the database alerts that can react within a test go pending and resolve.
 */
const RULES = path.resolve(__dirname, '../../runbooks/alerts.yml');
/** Alerts whose expressions react within seconds of a cut (ShopDatabaseDown needs 3 minutes). */
const DATABASE_ALERTS = ['ShopApiReadsFailing', 'ShopWorkersCannotReachDatabase'];
/** Generous bounds: the machine is shared and slow; the assertions are about behaviour. */
const REACT_MS = 120_000;

interface Target {
  labels: { job: string; instance: string };
  health: string;
  lastError: string;
}
interface Rule {
  name: string;
  health: string;
  lastError?: string;
}
interface Alert {
  labels: { alertname: string };
  state: 'pending' | 'firing';
}
type Answer<T> = { status: string; data: T };

let ctx: TestContext;
let proxy: FaultProxy;
let api: RunningProcess;
let workers: RunningProcess;
let prometheus: RunningPrometheus;
let apiUrl: string;
let token: string;
/** Whatever beforeAll created, closed in reverse order even when it failed halfway. */
const cleanup: (() => Promise<unknown>)[] = [];

const ruleFile = parse(readFileSync(RULES, 'utf8')) as {
  groups: { name: string; rules: unknown[] }[];
};

beforeAll(async () => {
  ctx = await createTestContext();
  cleanup.push(() => ctx.destroy());
  proxy = await FaultProxy.start(Number(new URL(ctx.config.database.url).port || 3306));
  cleanup.push(() => proxy.close());
  const viaProxy = new URL(ctx.config.database.url);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const env = {
    ...ctx.env,
    DATABASE_URL: viaProxy.toString(),
    PORT: '0',
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'info',
  };
  api = runBuilt('api/main.js', [], env);
  cleanup.push(() => api.stop());
  workers = runBuilt('workers/main.js', [], env);
  cleanup.push(() => workers.stop());
  const apiPort = String((await api.waitForLog('api listening', 60_000)).port);
  const workerPort = String((await workers.waitForLog('workers started', 60_000)).metricsPort);
  apiUrl = `http://127.0.0.1:${apiPort}`;
  prometheus = await startPrometheus({
    ruleFiles: [RULES],
    jobs: { 'shop-api': [`127.0.0.1:${apiPort}`], 'shop-workers': [`127.0.0.1:${workerPort}`] },
  });
  cleanup.push(() => prometheus.stop());

  // One order that ends FAILED (the user has no balance) before the cut: its outcome series
  // then exists, so the same outcome after the restore counts as an increase (rate() ignores
  // a series' first appearance).
  await insertProduct(ctx, { id: 1, price: 100, stock: 10 });
  token = await ctx.tokenFor(7);
  const before = await submitOrder(apiUrl, token, [{ productId: 1, quantity: 1 }]);
  expect(await waitForFinal(apiUrl, token, before.statusUrl, { timeoutMs: 60_000 })).toMatchObject({
    status: 'FAILED',
    failureCode: 'INSUFFICIENT_BALANCE',
  });
}, 180_000);

afterAll(async () => {
  for (const close of cleanup.reverse()) await close();
});

const alertStates = async () => {
  const answer = await prometheus.get<Answer<{ alerts: Alert[] }>>('/api/v1/alerts');
  return new Map(answer.data.alerts.map((a) => [a.labels.alertname, a.state]));
};

const readBalance = async () => (await request(apiUrl, 'GET', '/api/balance', { token })).status;

/** Reads the balance every `everyMs` until `stop()`; resolves to the statuses seen. */
function keepReading(everyMs: number) {
  const stop = new AbortController();
  const seen: number[] = [];
  const loop = (async () => {
    while (!stop.signal.aborted) {
      seen.push(await readBalance());
      await sleep(everyMs);
    }
  })();
  return {
    seen,
    async stop() {
      stop.abort();
      await loop;
    },
  };
}

describe('A real Prometheus with runbooks/alerts.yml', () => {
  it('When it scrapes the API and a worker process, then both targets are up', async () => {
    let targets: Target[] = [];
    await eventually(
      'both targets up',
      async () => {
        const answer = await prometheus.get<Answer<{ activeTargets: Target[] }>>('/api/v1/targets');
        targets = answer.data.activeTargets;
        return targets.length === 2 && targets.every((t) => t.health === 'up');
      },
      60_000,
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}: ${JSON.stringify(targets)}\n${prometheus.log()}`);
    });
    expect(targets.map((t) => t.labels.job).sort()).toEqual(['shop-api', 'shop-workers']);
  }, 90_000);

  it('When the rules are evaluated, then every group and every rule loaded and evaluates without error', async () => {
    let groups: { name: string; rules: Rule[] }[] = [];
    await eventually(
      'every rule evaluated',
      async () => {
        const answer = await prometheus.get<Answer<{ groups: typeof groups }>>('/api/v1/rules');
        groups = answer.data.groups;
        return groups.flatMap((g) => g.rules).every((r) => r.health !== 'unknown');
      },
      60_000,
    );
    const loaded = Object.fromEntries(groups.map((g) => [g.name, g.rules.length]));
    expect(loaded).toEqual(
      Object.fromEntries(ruleFile.groups.map((g) => [g.name, g.rules.length])),
    );
    const unhealthy = groups
      .flatMap((g) => g.rules)
      .filter((r) => r.health !== 'ok' || (r.lastError ?? '') !== '');
    expect(unhealthy).toEqual([]);
  }, 90_000);

  it('When the database is cut, then the database alerts go pending; when it is restored, then they resolve', async () => {
    const quiet = await alertStates();
    expect(DATABASE_ALERTS.filter((name) => quiet.has(name))).toEqual([]);

    proxy.cut('refuse');
    // During the cut: an order waits (its job is deferred again and again) and reads fail.
    const during = await submitOrder(apiUrl, token, [{ productId: 1, quantity: 1 }]);
    expect(during.status).toBe(202);
    const reads = keepReading(500);
    try {
      await eventually(
        `${DATABASE_ALERTS.join(' and ')} pending or firing`,
        async () => {
          const states = await alertStates();
          return DATABASE_ALERTS.every((name) => states.has(name));
        },
        REACT_MS,
      );
    } finally {
      await reads.stop();
    }
    expect(reads.seen.filter((status) => status !== 503)).toEqual([]);

    await proxy.restore();
    // Reads answer again once the API's breaker lets a probe through; the order waiting since
    // the cut is applied, and one more finishes, so finished jobs increase again.
    await eventually('a read answers 200', async () => (await readBalance()) === 200, REACT_MS);
    expect(
      await waitForFinal(apiUrl, token, during.statusUrl, { timeoutMs: REACT_MS }),
    ).toMatchObject({ status: 'FAILED', failureCode: 'INSUFFICIENT_BALANCE' });
    const after = await submitOrder(apiUrl, token, [{ productId: 1, quantity: 1 }]);
    await waitForFinal(apiUrl, token, after.statusUrl, { timeoutMs: REACT_MS });
    // ShopApiReadsFailing is a share of reads over 2 minutes: successful reads bring it under 5 %.
    const healthy = keepReading(20);
    try {
      await eventually(
        'the database alerts resolved',
        async () => {
          const states = await alertStates();
          return DATABASE_ALERTS.every((name) => !states.has(name));
        },
        REACT_MS,
      );
    } finally {
      await healthy.stop();
    }
    expect(healthy.seen.filter((status) => status !== 200)).toEqual([]);
  }, 400_000);
});
