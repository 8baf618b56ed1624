import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import { HEAP_FLAGS } from '../../shared/node-flags';
import { reconcileDatabase, type ReconcileResult } from '../../test/harness/database';
import { SystemUnderTest } from '../../test/harness/system';
import { collectEnvironment, loadAverage } from '../report/environment';
import type { RunReport } from '../report/types';
import { runPhase } from './cannon';
import { Monitor, resourceLine } from './monitor';
import { waitUntilFinal } from './settle';
import type { AdmissionMode, Check, LoadSize, Scenario, ScenarioContext } from './types';
import { LoadWorld } from './world';

/** What a run needs besides its scenario's defaults: the command line, resolved. */
export interface HarnessOptions {
  scenario: Scenario;
  size: LoadSize;
  /** Keep the database and the Redis keys afterwards. */
  keep: boolean;
  /** A running system to use instead of starting one. */
  url: string | undefined;
  /** With `url`: that system's database (seeded with SQL, reconciled afterwards). */
  databaseUrl: string;
  /** With `url`: that system's JWT_SECRET (default: the development secret). */
  jwtSecret: string | undefined;
  /** The server a run's own database is created on. */
  mysqlUrl: string;
  redisUrl: string;
  /** The results directory; the processes' output goes to its `logs/`. */
  dir: string;
  log: (line: string) => void;
}

/** Longest the final wait may take, and how long without progress before it gives up. */
const SETTLE_MAX_MS = 30 * 60_000;
const SETTLE_STALL_MS = 60_000;
const LOAD_JWT_SECRET = 'load-test-secret-0123456789-0123456789-abcdef';

/**
 * Raised far above anything a run reaches: a scenario that measures throughput must not be
 * cut short by the protection the `overload` scenario is there to measure.
 */
const RAISED_ADMISSION = { ADMISSION_MAX_BACKLOG: '100000000', ADMISSION_MAX_LAG_MS: '60000' };

/**
 * The settings a started system runs with, as production runs them (logging at `warn`), and
 * as the report lists them.
 */
function systemSettings(prefix: string, admission: AdmissionMode): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_PREFIX: prefix,
    ...(admission === 'raised' ? RAISED_ADMISSION : {}),
  };
}

/**
 * Balance per user: enough for every order the run may place (up to 3 items of at most
 * 20,000 each), in whole charges of the contract's maximum.
 */
function fundingPerUser(size: LoadSize): number {
  const ordersPerUser = Math.ceil((size.amount ?? 200_000) / Math.max(1, size.users));
  const needed = ordersPerUser * 60_000 * 2;
  return Math.min(100_000_000_000, Math.max(1, Math.ceil(needed / 10_000_000)) * 10_000_000);
}

interface Target {
  databaseUrl: string;
  reconcile(): Promise<ReconcileResult>;
}

async function assertReady(url: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw new Error(
      `${url} is not reachable: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause: error },
    );
  }
  if (!response.ok) throw new Error(`${url}/readyz answered ${response.status}`);
}

/**
 * Runs one scenario end to end and fills `report` as it goes (so a failure still leaves what
 * was measured): its own database and Redis prefix (or the `--url` system's), products and
 * funded users, the system's processes, the scenario, the wait until every accepted request
 * is final, the scenario's own checks, a clean stop and `ops reconcile`. Whatever it created is
 * removed afterwards unless `keep`, also when it fails.
 */
export async function runScenario(args: HarnessOptions, report: RunReport): Promise<void> {
  const { scenario, size, dir, log } = args;
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const cleanup: (() => Promise<unknown>)[] = [];
  let monitor: Monitor | undefined;
  try {
    const prefix = `load-${runId}`;
    let system: SystemUnderTest | undefined;
    let target: Target;
    if (args.url === undefined) {
      system = await SystemUnderTest.create({
        mysqlUrl: args.mysqlUrl,
        database: `shop_load_${runId}`,
        redisUrl: args.redisUrl,
        redisPrefix: prefix,
        jwtSecret: LOAD_JWT_SECRET,
        workers: size.workers,
        env: {
          ...systemSettings(prefix, scenario.admission),
          ADMIN_PASSWORD: randomBytes(12).toString('hex'),
          SHUTDOWN_TIMEOUT_MS: '10000',
        },
        // As production runs them (npm start, the image): with the capped heap.
        nodeFlags: HEAP_FLAGS,
        logDir: path.join(dir, 'logs'),
        keep: args.keep,
        stopGraceMs: 15_000,
      });
      const created = system;
      log(`database ${created.database.name} created and migrated`);
      cleanup.push(() => created.close());
      target = { databaseUrl: created.database.url, reconcile: () => created.database.reconcile() };
    } else {
      await assertReady(args.url);
      const databaseUrl = args.databaseUrl;
      target = { databaseUrl, reconcile: () => reconcileDatabase(databaseUrl, 300_000) };
    }
    const world = LoadWorld.open(target.databaseUrl, args.url === undefined);
    cleanup.push(() => world.close());
    const jwtSecret =
      args.url === undefined ? LOAD_JWT_SECRET : (args.jwtSecret ?? loadConfig({}).jwtSecret);
    await world.addProducts(size.products);
    if (size.users > 0) await world.addBuyers(size.users, fundingPerUser(size), jwtSecret);
    log(`seeded ${size.products} products and ${size.users} funded users`);
    report.environment = await collectEnvironment(await world.serverInfo(), args.redisUrl);
    const [busy] = os.loadavg();
    if (busy !== undefined && busy > os.cpus().length / 2) {
      log(`the machine is busy (load average ${loadAverage()}): expect noisy figures`);
    }

    let apiUrl: string;
    if (system) {
      await system.start();
      apiUrl = system.apiUrl;
      report.settings = {
        ...systemSettings(prefix, scenario.admission),
        workerProcesses: String(size.workers),
      };
      report.target = `started by this run: 1 API and ${size.workers} worker process(es), logs in logs/`;
      log(`system up: ${apiUrl}`);
      if (args.keep) log(`keeping database shop_load_${runId} and Redis prefix ${prefix}`);
    } else {
      apiUrl = args.url ?? '';
      report.target = apiUrl;
    }
    monitor = new Monitor(
      () => system?.pids() ?? { api: [], workers: [] },
      () => apiUrl,
    );
    report.timeline.startedAt = monitor.startedAt;
    const running = monitor;
    const ctx: ScenarioContext = {
      apiUrl,
      world,
      size,
      runId,
      monitor,
      log,
      runPhase: (spec) => runPhase(apiUrl, spec, running, log),
    };
    const outcome = await scenario.run(ctx);
    report.phases = outcome.phases;
    report.figures = outcome.figures;
    report.charts = outcome.charts;

    const { orders, charges } = outcome.accepted;
    const inFlight = outcome.phases.reduce((sum, p) => sum + p.inFlightAtEnd, 0);
    log(`waiting until all ${orders} accepted orders and ${charges} charges are final`);
    let lastLine = 0;
    const settle = await monitor.span('settle', () =>
      waitUntilFinal(world, outcome.accepted, {
        stallMs: SETTLE_STALL_MS,
        maxMs: SETTLE_MAX_MS,
        onPoll: (finalOrders, finalCharges) => {
          if (Date.now() - lastLine < 1_000) return;
          lastLine = Date.now();
          log(
            `settle: orders ${finalOrders}/${orders}, charges ${finalCharges}/${charges} final  ` +
              resourceLine(running.latest),
          );
        },
      }),
    );
    report.settle = settle;
    const checks: Check[] = (report.checks = [...outcome.checks]);
    checks.push({
      name: 'every accepted order and charge is final',
      ok:
        settle.done &&
        (settle.counts.orders.ON_HOLD ?? 0) + (settle.counts.charges.ON_HOLD ?? 0) === 0,
      detail:
        `${settle.finalOrders} orders final for ${orders} answered 202 ` +
        `${JSON.stringify(settle.counts.orders)}, ${settle.finalCharges} charges for ${charges} ` +
        JSON.stringify(settle.counts.charges) +
        (inFlight > 0 && orders + charges > 0
          ? ` (${inFlight} requests were in flight when a phase ended)`
          : '') +
        `; ${(settle.waitedMs / 1_000).toFixed(1)} s after the load ended`,
    });
    if (outcome.verify) checks.push(...(await outcome.verify()));
    report.charts = outcome.charts;
    report.figures = outcome.figures;
    monitor.stop();
    if (system) {
      // Quiescent before reconcile: nothing may change the rows it reads.
      await system.stop();
      report.problems = system.problems({ byProcess: true });
      checks.push({
        name: 'no process died',
        ok: system.unexpectedExits.length === 0,
        detail: system.unexpectedExits.join('; ') || 'API and workers ran to the end',
      });
    }
    log('reconciling');
    report.reconcile = await target.reconcile();
    checks.push({
      name: 'ops reconcile',
      ok: report.reconcile.ok,
      detail: report.reconcile.ok ? 'every invariant holds' : 'drift found (see below)',
    });
  } finally {
    monitor?.stop();
    if (monitor) {
      report.timeline.samples = monitor.samples;
      report.timeline.spans = monitor.spans;
    }
    for (const step of cleanup.reverse()) {
      await step().catch((error: unknown) => {
        log(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
  }
}
