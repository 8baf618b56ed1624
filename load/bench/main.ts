import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { signUserToken } from '../../shared/tokens';
import { HEAP_FLAGS } from '../../shared/node-flags';
import { uuidv7 } from '../../shared/ids';
import { MigratedDatabase } from '../../test/harness/database';
import { resultsDir } from '../../test/harness/paths';
import { freePort } from '../../test/harness/ports';
import { runBuilt } from '../../test/harness/process';
import { SystemUnderTest } from '../../test/harness/system';
import { clusterBench, clusterFigures, type ClusterFigure } from './cluster';
import { deliveredOrders } from './delivery';
import { DedicatedMariaDb } from '../../test/harness/mariadb';
import { DedicatedRedis } from '../../test/harness/redis';
import { acceptToFinal, acceptsAlone, costedRun, type CostedRun, type EndToEnd } from './cost';
import { CpuMeter, loadAverage, pidsNamed, readSchedstat, settle, type Groups } from './cpu';
import { generate, type Workload } from './generators';
import { cannon, watchMemory, type Throughput } from './measure';
import { BENCH_USAGE, parseBenchOptions, type BenchOptions } from './options';
import { rawSqlLoop, type RawSqlResult } from './raw-sql';
import { BENCH_MARIADB, fundUsers, seedProducts, timeToFinalise } from './setup';
import { openLoop, type OpenLoopResult } from './open-loop';
import { readQueues } from './queues';
import { singleLayout } from '../../test/harness/queues';
import { percentileChart } from '../report/render';
import {
  ACCEPTS,
  ACCEPTS_ALONE,
  ACCEPTS_ALONE_AGAIN,
  BARE,
  BARE_AGAIN,
  BARE_ACCEPT,
  BARE_HEADERS,
  CHARGES,
  DELIVERED,
  DETAIL,
  DETAIL_AGAIN,
  EXPRESS,
  EXPRESS_AGAIN,
  SYSTEM,
  costTargets,
  endToEndRows,
  CURVE_FRACTIONS,
  latencyCurveChart,
  latencyCurveRows,
  openLoopRows,
  OPEN_ACCEPTS,
  OPEN_DETAIL,
  runRows,
  targetRows,
  type DrainCost,
  type OpenLoopRun,
  type RawSqlCost,
} from './table';

/**
 * `npm run bench`: the system against hand-written baselines, all measured in this one run on
 * the same machine. The targets are CPU per unit of work (read from /proc for every process:
 * API, workers, Redis, MariaDB, the baselines and the load generator) as ratios to the
 * baselines' — the cost per order of load/REPORT.md, which means the same on any machine.
 * Order accepts are measured twice: with the API alone, as each baseline runs (the workers
 * start after it), and with the workers running.
 * Wall-clock ratios (product detail and finalised orders per second against the baselines)
 * are printed too, as comparisons on this box; the wall-clock accepts target is retired
 * (load/REPORT.md, "Cost per order"). API memory < 200 MiB and zero errors stay absolute.
 */
const JWT_SECRET = 'bench-secret-0123456789-0123456789-abcdef';
const USERS = 200;
const MANY_PRODUCTS = 500;

/** The i-th request of an open-loop run, as the bytes to send. */
type Req = (i: number) => string;

const DETAIL_REQUEST = 'GET /api/products/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';

/** The i-th order accept of the open loop: a fresh key, users in turn, products in turn. */
function orderRequest(tokens: readonly string[], key: string, i: number): string {
  const body = `{"items":[{"productId":${1 + (i % MANY_PRODUCTS)},"quantity":1}]}`;
  return (
    'POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
    `Authorization: Bearer ${tokens[i % tokens.length] ?? ''}\r\nIdempotency-Key: ${key}-${i}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

const log = (line: string) => process.stderr.write(`${line}\n`);

async function startServer(
  kind: 'bare' | 'bare-headers' | 'bare-accept' | 'express',
  options: BenchOptions,
): Promise<{ stop: () => Promise<void>; url: string; pid: number }> {
  const server = runBuilt('load/bench/servers.js', [kind], { ...options.systemEnv });
  const line = await server.waitForLog('listening');
  return {
    stop: () => server.stop(),
    url: `http://127.0.0.1:${String(line.port)}`,
    pid: server.child.pid ?? 0,
  };
}

/** The MariaDB and Redis the run uses, and the processes whose CPU time is theirs. */
interface Servers {
  mysqlUrl: string;
  redisUrl: string;
  pids(): { mariadb: number[]; redis: number[] };
  close(): Promise<void>;
}

/** Servers of the bench's own unless BENCH_DATABASE_SERVER / BENCH_REDIS_URL name others. */
async function startServers(options: BenchOptions): Promise<Servers> {
  const mariadb =
    options.databaseServer === undefined ? await DedicatedMariaDb.start(BENCH_MARIADB) : undefined;
  const redis =
    options.redisUrl === undefined
      ? await DedicatedRedis.start({ appendfsync: 'everysec' }).catch(async (error: unknown) => {
          await mariadb?.destroy();
          throw error;
        })
      : undefined;
  const sharedMariadb = mariadb === undefined ? pidsNamed('mariadbd') : [];
  const sharedRedis = redis === undefined ? pidsNamed('redis-server') : [];
  log(
    `servers: MariaDB ${mariadb ? `of its own (pid ${mariadb.pid})` : `shared (pids ${sharedMariadb.join(', ')}: others' work counted too)`}, Redis ${redis ? `of its own (pid ${redis.pid})` : `shared (pids ${sharedRedis.join(', ')})`}`,
  );
  return {
    mysqlUrl: mariadb?.url() ?? options.databaseServer ?? '',
    redisUrl: redis?.url ?? options.redisUrl ?? '',
    pids: () => ({
      mariadb: mariadb?.pid === undefined ? sharedMariadb : [mariadb.pid],
      redis: redis?.pid === undefined ? sharedRedis : [redis.pid],
    }),
    close: async () => {
      await redis?.destroy();
      await mariadb?.destroy();
    },
  };
}

/**
 * The API with its stdout going straight to a file, as a log shipper would take it, at
 * `level`: the cost of access logging is `info` (no line per request) against `http` (a line
 * each).
 */
async function productDetailAtLogLevel(
  env: Record<string, string>,
  level: string,
  options: BenchOptions,
): Promise<Throughput> {
  const port = await freePort();
  const api = runBuilt(
    'api/main.js',
    [],
    { ...env, LOG_LEVEL: level, PORT: String(port) },
    {
      nodeFlags: HEAP_FLAGS,
      logFile: path.join(tmpdir(), `bench-api-${level}-${Date.now()}.log`),
      direct: true,
    },
  );
  try {
    const base = `http://127.0.0.1:${port}`;
    await api.waitForHttp(`${base}/readyz`);
    const url = `${base}/api/products/1`;
    await fetch(url);
    return await cannon(`API product detail, LOG_LEVEL=${level}`, {
      url,
      connections: options.connections,
      duration: options.durationS,
    });
  } finally {
    await api.terminate();
  }
}

async function main(options: BenchOptions): Promise<void> {
  const { durationS: DURATION, connections: CONNECTIONS, orders: ORDERS } = options;
  const shape = { connections: CONNECTIONS, durationS: DURATION };
  const id = Date.now().toString(36);
  const prefix = `bench-${id}`;
  const dir = resultsDir(new Date(), 'bench');
  mkdirSync(dir, { recursive: true });
  const settings: Record<string, string> = {
    ...options.systemEnv,
    NODE_ENV: 'production',
    ADMIN_PASSWORD: 'bench-admin-password',
    // The default level: what production runs with (a line per applied request in the workers).
    LOG_LEVEL: 'info',
    ADMISSION_MAX_BACKLOG: '10000000',
    ADMISSION_MAX_LAG_MS: '60000',
    // The open loop may hold more requests than the shipped 256 when the machine stalls.
    ADMISSION_MAX_IN_FLIGHT: '100000',
    // The scheduled reconcile's first run scans the whole history (seconds of MariaDB CPU at the
    // sizes a bench reaches: load/REPORT.md): a run would land in whichever stretch is running.
    // It is per run, not per order, and measured on its own by `npm run bench:reconcile`.
    RECONCILE_INTERVAL_S: '0',
  };
  const startLoad = loadAverage();
  const servers = await startServers(options);
  const redisUrl = servers.redisUrl;
  let system: SystemUnderTest | undefined;
  let raw: MigratedDatabase | undefined;
  let redis: Redis | undefined;
  try {
    // One API and one worker process, as production runs them: with the capped heap.
    system = await SystemUnderTest.create({
      mysqlUrl: servers.mysqlUrl,
      database: `shop_bench_${id}`,
      redisUrl,
      redisPrefix: prefix,
      jwtSecret: JWT_SECRET,
      workers: 1,
      env: settings,
      nodeFlags: options.cpuProf
        ? [...HEAP_FLAGS, '--cpu-prof', `--cpu-prof-dir=${path.join(dir, 'cpu-prof')}`]
        : HEAP_FLAGS,
    });
    redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const db = system.database;
    const runs: CostedRun[] = [];
    const e2e: EndToEnd[] = [];
    raw = await MigratedDatabase.create(servers.mysqlUrl, `shop_bench_raw_${id}`);
    await seedProducts(db, MANY_PRODUCTS);
    await seedProducts(raw, MANY_PRODUCTS);
    await fundUsers(db.url, USERS);
    await fundUsers(raw.url, USERS);
    const tokens = await Promise.all(
      Array.from({ length: USERS }, (_, i) => signUserToken(JWT_SECRET, i + 1, '1h')),
    );

    log(
      "\n== baselines: the same product JSON from node:http (bare, and with the API's headers) and from an Express hello-world; node:http taking an order's request and answering the API's 202",
    );
    // Warm-up, not counted: a cold process pays for JIT compilation in its first seconds.
    const warmUp = { connections: CONNECTIONS, durationS: Math.min(3, DURATION) };
    const first = options.generators[0] ?? 'autocannon';
    /**
     * A baseline server's runs, one per generator, after a warm-up as the API gets: product
     * detail unless told another workload; the server is stopped after.
     */
    const baseline = async (
      kind: 'bare' | 'bare-headers' | 'bare-accept' | 'express',
      name: string,
      workloadAt: (url: string) => Workload = (url) => ({
        kind: 'get',
        url: `${url}/api/products/1`,
      }),
    ) => {
      const server = await startServer(kind, options);
      const workload = workloadAt(server.url);
      await generate(first, `${name} (warm-up)`, workload, warmUp);
      for (const g of options.generators) {
        runs.push(await costedRun(g, name, workload, shape, { server: [server.pid] }));
      }
      await server.stop();
    };
    await baseline('bare', BARE);
    await baseline('bare-headers', BARE_HEADERS);
    await baseline('express', EXPRESS);
    await baseline('bare-accept', BARE_ACCEPT, (baseUrl) => ({
      kind: 'order',
      baseUrl,
      tokens,
      products: MANY_PRODUCTS,
      key: `${prefix}-bare-accept`,
    }));

    // The workers start after the API's accepts alone (below).
    await system.startApis();
    const sut = system;
    const apiUrl = sut.apiUrl;
    const groups = (): Groups => ({ ...sut.pids(), ...servers.pids() });
    log(`system: API pid ${sut.pids().api.join(', ')}`);
    const memory = watchMemory(sut.pids().api[0] ?? 0);
    const meter = new CpuMeter();

    log('\n== the API: cached product detail');
    await fetch(`${apiUrl}/api/products/1`);
    await generate(first, 'warm-up', { kind: 'get', url: `${apiUrl}/api/products/1` }, warmUp);
    const detail = async (name: string) => {
      for (const g of options.generators) {
        runs.push(
          await costedRun(
            g,
            name,
            { kind: 'get', url: `${apiUrl}/api/products/1` },
            shape,
            groups(),
          ),
        );
      }
    };
    await detail(DETAIL);
    // Bare, API, bare, API: the detail ÷ bare figure is the median of the adjacent pairs,
    // each pair a few seconds apart on the same machine (alternatedRatio in table.ts).
    log('\n== alternated: bare node:http again, then the API again');
    await baseline('bare', BARE_AGAIN);
    await detail(DETAIL_AGAIN);

    const drainTo = { databaseUrl: db.url, queues: readQueues(redis, singleLayout(prefix)) };
    try {
      log('\n== the API alone: order accepts (202), no worker running, as Express runs alone');
      const orders = (tag: string) =>
        ({
          kind: 'order',
          baseUrl: apiUrl,
          tokens,
          products: MANY_PRODUCTS,
          key: `${prefix}-${tag}-alone`,
        }) as const;
      runs.push(
        ...(await acceptsAlone(
          [ACCEPTS_ALONE, ACCEPTS_ALONE_AGAIN],
          options.generators,
          orders,
          // An API's first accepts cost more than later ones (13–17 % for the first 8 s in
          // load/REPORT.md, "The accept, measured alone"): these are its first.
          { run: shape, warmUp: { ...warmUp, durationS: Math.min(20, 2 * DURATION) } },
          groups(),
          drainTo,
          {
            // Express, API, Express, API: the accept ÷ Express figure is the median of the
            // adjacent pairs, as product detail's is (alternatedRatio in table.ts).
            between: () => baseline('express', EXPRESS_AGAIN),
            startWorkers: async () => {
              await sut.startWorkers();
              log(`system: workers pid ${sut.pids().workers.join(', ')}`);
            },
          },
        )),
      );
      for (const [kind, name] of [
        ['order', ACCEPTS],
        ['charge', CHARGES],
      ] as const) {
        log(`\n== the API: ${kind} accepts (202), workers running, until every one is final`);
        for (const g of ['warm-up', ...options.generators] as const) {
          const workload: Workload & { kind: typeof kind } =
            kind === 'order'
              ? { kind, baseUrl: apiUrl, tokens, products: MANY_PRODUCTS, key: `${prefix}-${g}-o` }
              : { kind, baseUrl: apiUrl, tokens, key: `${prefix}-${g}-c` };
          if (g === 'warm-up') {
            await acceptToFinal(first, `${name} (warm-up)`, workload, warmUp, groups(), drainTo);
            continue;
          }
          const { run, endToEnd } = await acceptToFinal(
            g,
            name,
            workload,
            shape,
            groups(),
            drainTo,
          );
          runs.push(run);
          e2e.push(endToEnd);
        }
      }
    } finally {
      await drainTo.queues.close();
    }

    // Open loop at half the capacity just measured (the best closed-loop figure of the run).
    const capacity = (name: string) =>
      Math.max(...runs.filter((r) => r.name === name).map((r) => r.requestsPerSecond));
    /** One open-loop run on the API, with the CPU every process spent and the API's waits. */
    const openLoopOnApi = async (name: string, rate: number, durationS: number, request: Req) => {
      const stop = meter.start(groups());
      const apiPid = sut.pids().api[0] ?? 0;
      const schedBefore = readSchedstat(apiPid);
      const loadBefore = loadAverage();
      const result = await openLoop({ baseUrl: apiUrl, rate, durationS, request });
      const cpu = stop();
      const schedAfter = readSchedstat(apiPid);
      // How long the API's JavaScript thread was ready to run but had no CPU: the share of
      // latency the machine, not the code, is responsible for.
      const apiWaitMsPerS =
        schedBefore && schedAfter
          ? (schedAfter.waitNs - schedBefore.waitNs) / 1e6 / result.seconds
          : Number.NaN;
      return { name, ...result, cpu, apiWaitMsPerS, loadAverage: (loadBefore + loadAverage()) / 2 };
    };
    /**
     * Bare node:http under the same generator, rate and requests: the floor, what of the
     * latency is the generator's and the machine's rather than the API's. Warmed up first, as
     * the API has been: a cold process compiles in its first seconds.
     */
    const floorAt = async (rates: readonly number[], durationS: number, request: Req) => {
      const bare = await startServer('bare', options);
      try {
        await openLoop({
          baseUrl: bare.url,
          rate: rates[0] ?? 1,
          durationS: warmUp.durationS,
          request,
        });
        const floors: OpenLoopResult[] = [];
        for (const rate of rates) {
          floors.push(await openLoop({ baseUrl: bare.url, rate, durationS, request }));
        }
        return floors;
      } finally {
        await bare.stop();
      }
    };

    // Product detail's p99 by offered rate, up to half the capacity: where the knee is.
    const detailCapacity = capacity(DETAIL);
    const curveRates = CURVE_FRACTIONS.map((f) => Math.max(1, Math.round(detailCapacity * f)));
    const curveS = Math.max(1, Math.round(DURATION / 2));
    log(`\n== open loop: product detail at ${curveRates.join(', ')}/s, ${curveS} s each`);
    const curveFloors = await floorAt(curveRates, curveS, () => DETAIL_REQUEST);
    const curve: OpenLoopRun[] = [];
    for (const [i, rate] of curveRates.entries()) {
      const run = await openLoopOnApi(OPEN_DETAIL, rate, curveS, () => DETAIL_REQUEST);
      const floor = curveFloors[i] as OpenLoopResult;
      curve.push({ ...run, floor });
      log(`   ${rate}/s: API p99 ${run.p99Ms} ms, bare node:http p99 ${floor.p99Ms} ms`);
    }

    const open: OpenLoopRun[] = [];
    for (const [name, capacityOf, request, kind] of [
      [OPEN_DETAIL, DETAIL, () => DETAIL_REQUEST, 'get'],
      [OPEN_ACCEPTS, ACCEPTS, (i: number) => orderRequest(tokens, `${prefix}-open`, i), 'order'],
    ] as const) {
      const rate = Math.max(1, Math.round(capacity(capacityOf) / 2));
      log(`\n== open loop: bare node:http at ${rate}/s (the floor for ${name}) for ${DURATION} s`);
      const [floor] = (await floorAt([rate], DURATION, request)) as [OpenLoopResult];
      log(`   p50 ${floor.p50Ms} ms, p99 ${floor.p99Ms} ms, max ${floor.maxMs} ms`);
      log(`\n== open loop: ${name} at ${rate}/s (half the measured capacity) for ${DURATION} s`);
      const run = await openLoopOnApi(name, rate, DURATION, request);
      if (kind === 'order') await timeToFinalise(db, redis, prefix, 0, 600_000);
      log(`   p50 ${run.p50Ms} ms, p99 ${run.p99Ms} ms, max ${run.maxMs} ms`);
      log(
        `   API thread waited for a CPU ${run.apiWaitMsPerS.toFixed(0)} ms per s; load average ${run.loadAverage.toFixed(1)}`,
      );
      open.push({ ...run, floor });
    }
    const [detailOpen] = open;
    if (detailOpen) curve.push(detailOpen);
    writeFileSync(
      path.join(dir, 'open-loop-latency.svg'),
      percentileChart({
        title: `Open loop at half the measured capacity: latency by percentile`,
        series: open.flatMap((o) => [
          { name: `${o.name} (${o.rate}/s)`, points: o.percentiles },
          { name: `bare node:http, same rate (${o.rate}/s)`, points: o.floor.percentiles },
        ]),
        thresholds: [
          { y: 10, label: 'accepts p99 goal 10 ms' },
          { y: 5, label: 'product detail p99 goal 5 ms' },
        ],
      }),
    );
    writeFileSync(path.join(dir, 'open-loop-p99-by-rate.svg'), latencyCurveChart(curve));
    const apiPeakMiB = memory.stop();

    log('\n== raw BullMQ add loop');
    const rawQueue = new Queue(`bench-raw-${id}`, { connection: redis, prefix });
    const addStarted = performance.now();
    let added = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (performance.now() - addStarted < 5_000) {
          await rawQueue.add('x', { orderId: uuidv7(), items: [{ productId: 1, quantity: 1 }] });
          added++;
        }
      }),
    );
    const bullmqAddsPerSecond = added / ((performance.now() - addStarted) / 1_000);
    await rawQueue.obliterate({ force: true });
    await rawQueue.close();

    const finalised: Record<string, { system: number; raw: RawSqlResult }> = {};
    const drains: DrainCost[] = [];
    const rawCosts: RawSqlCost[] = [];
    for (const [label, productFor] of [
      ['many products', (i: number) => 1 + (i % MANY_PRODUCTS)],
      ['one hot product', () => MANY_PRODUCTS + 1],
    ] as const) {
      log(`\n== orders finalised: ${label} (${ORDERS} orders)`);
      const backgroundOf = () => [...servers.pids().mariadb, ...servers.pids().redis];
      await settle(backgroundOf());
      // As many connections as one worker process runs orders at once (WORKER_CONCURRENCY).
      const stopRaw = meter.start({ mariadb: servers.pids().mariadb });
      const rawResult = await rawSqlLoop(
        raw.url,
        ORDERS,
        8,
        productFor,
        (i) => 1 + (i % USERS),
        label.replace(/ /g, '-'),
      );
      const rawCpu = stopRaw();
      rawCosts.push({
        label,
        orders: ORDERS,
        perSecond: rawResult.perSecond,
        clientUs: (rawCpu.generator ?? 0) / ORDERS,
        mariadbUs: (rawCpu.mariadb ?? 0) / ORDERS,
      });
      await settle(backgroundOf());
      const stopDrain = meter.start(groups());
      const perSecond = await timeToFinalise(db, redis, prefix, ORDERS, 600_000, productFor, USERS);
      drains.push({ label, orders: ORDERS, perSecond, cpu: stopDrain() });
      finalised[label] = { system: perSecond, raw: rawResult };
      log(`   system ${perSecond.toFixed(0)}/s, raw SQL loop ${rawResult.perSecond.toFixed(0)}/s`);
    }
    await sut.stop();

    log('\n== order accepts with a data platform: until every event is delivered too');
    const delivery = await deliveredOrders(DELIVERED, {
      mysqlUrl: servers.mysqlUrl,
      redisUrl,
      servers: () => servers.pids(),
      settings,
      jwtSecret: JWT_SECRET,
      tokens,
      products: MANY_PRODUCTS,
      users: USERS,
      id,
      generator: first,
      shape,
      warmUp,
    });
    e2e.push(delivery.endToEnd);
    if (delivery.undelivered > 0) {
      log(`   ${delivery.undelivered} events not delivered when the queues went idle`);
    }

    const wallClock: Throughput[] = [];
    if (options.accessLog) {
      log(
        '\n== access logging: the API at LOG_LEVEL=info (no access log) and http (a line per request)',
      );
      // Alternated twice, best of each: one run apiece moves with machine noise (load/REPORT.md).
      const env = {
        ...settings,
        DATABASE_URL: db.url,
        REDIS_URL: redisUrl,
        REDIS_PREFIX: prefix,
        JWT_SECRET,
      };
      for (const level of ['info', 'http', 'info', 'http']) {
        wallClock.push(await productDetailAtLogLevel(env, level, options));
      }
    }
    const best = (level: string) =>
      wallClock
        .filter((r) => r.name.endsWith(`=${level}`))
        .reduce<Throughput | undefined>(
          (a, b) => (a === undefined || b.requestsPerSecond > a.requestsPerSecond ? b : a),
          undefined,
        );
    const quiet = best('info');
    const logged = best('http');

    let clusterRows: ClusterFigure[] = [];
    if (options.clusterFigure) {
      log('\n== cluster mode: CPU per final order on a Redis Cluster against a single Redis');
      clusterRows = await clusterFigures(options);
    }

    const generators = options.generators;
    const rps = (name: string, g: string) =>
      runs.find((r) => r.name === name && r.generator === g)?.requestsPerSecond ?? Number.NaN;
    // Wall-clock comparisons on this box: they still mean something between runs of one
    // machine, but not across machines. Accepts ÷ Express is printed without a goal: its
    // target was retired (load/REPORT.md, "Cost per order").
    const wallRatios = generators.flatMap(
      (g) =>
        [
          [
            `product detail / Express (req/s, ${g})`,
            rps(DETAIL, g) / rps(EXPRESS, g),
            '≥ 0.9×',
            0.9,
          ],
          [
            `accepts / Express (req/s, ${g})`,
            rps(ACCEPTS, g) / rps(EXPRESS, g),
            'retired',
            undefined,
          ],
        ] as const,
    );
    const sqlRatios = [
      [
        'finalised / raw SQL (many)',
        (finalised['many products']?.system ?? 0) /
          (finalised['many products']?.raw.perSecond ?? 1),
        '≥ 1.0×',
        1.0,
      ],
      [
        'finalised / raw SQL (hot)',
        (finalised['one hot product']?.system ?? 0) /
          (finalised['one hot product']?.raw.perSecond ?? 1),
        '≥ 1.5×',
        1.5,
      ],
    ] as const;
    const targets = costTargets(
      generators,
      runs,
      e2e,
      rawCosts.find((r) => r.label === 'many products'),
      clusterRows,
    );
    const errors =
      runs.reduce((sum, r) => sum + r.errors + r.non2xx, 0) +
      wallClock.reduce((sum, r) => sum + r.errors + r.non2xx, 0) +
      e2e.reduce((sum, e) => sum + e.onHold + Math.max(0, e.accepted - e.finalised), 0) +
      open.reduce((sum, o) => sum + o.non2xx + o.errors, 0);
    const lines = [
      `# Benchmark ${new Date().toISOString()} (Node ${process.version}, ${DURATION} s runs, ${CONNECTIONS} connections, generators: ${generators.join(', ')}; ${cpus().length} CPUs, load average ${startLoad.toFixed(1)} at the start, ${loadAverage().toFixed(1)} at the end)`,
      '',
      '## Cost per order: CPU per unit of work ÷ the same-run baselines',
      '',
      ...targetRows(targets),
      '',
      '## Closed-loop runs: throughput, latency, CPU µs per 2xx answer of each process',
      '',
      ...runRows(runs),
      '',
      `## Request to final: CPU µs per final request (system = ${SYSTEM.join(' + ')})`,
      '',
      ...endToEndRows(e2e, drains, rawCosts),
      '',
      '## Open loop: a fixed offered rate of half the measured capacity (latency from when each request was due)',
      '',
      ...openLoopRows(open),
      '',
      '### Product detail: p99 by offered rate, up to half the measured capacity',
      '',
      ...latencyCurveRows(curve),
      '',
      '![p99 by offered rate](open-loop-p99-by-rate.svg)',
      '',
      '## Wall-clock comparisons on this box (not portable; see load/REPORT.md)',
      '',
      '| comparison | measured | goal | met |',
      '|---|---:|---:|:---:|',
      ...[...wallRatios, ...sqlRatios].map(
        ([name, value, goal, min]) =>
          `| ${name} | ${value.toFixed(2)}× | ${goal} | ${min === undefined ? '' : value >= min ? 'yes' : 'no'} |`,
      ),
      `| raw BullMQ add loop (50 in flight) | ${bullmqAddsPerSecond.toFixed(0)}/s | (info) | |`,
      ...Object.entries(finalised).map(
        ([label, f]) =>
          `| orders finalised, ${label}: system / raw SQL loop (8 connections) | ${f.system.toFixed(0)} / ${f.raw.perSecond.toFixed(0)} per s | (info) | |`,
      ),
      ...(quiet && logged
        ? [
            `| access-log cost (throughput lost at LOG_LEVEL=http, autocannon) | ${((1 - logged.requestsPerSecond / quiet.requestsPerSecond) * 100).toFixed(1)} % | < 5 % | ${logged.requestsPerSecond / quiet.requestsPerSecond > 0.95 ? 'yes' : 'no'} |`,
          ]
        : []),
      '',
      '## Absolute',
      '',
      '| target | measured | goal | met |',
      '|---|---:|---:|:---:|',
      `| API peak memory | ${apiPeakMiB.toFixed(0)} MiB | < 200 MiB | ${apiPeakMiB < 200 ? 'yes' : 'no'} |`,
      `| errors (non-2xx, socket errors, accepted but not final or ON_HOLD) | ${errors} | 0 | ${errors === 0 ? 'yes' : 'no'} |`,
      `| events not delivered when the delivery run's queues went idle | ${delivery.undelivered} | 0 | ${delivery.undelivered === 0 ? 'yes' : 'no'} |`,
    ];
    const report = lines.join('\n');
    process.stdout.write(`\n${report}\n`);
    writeFileSync(path.join(dir, 'bench.md'), `${report}\n`);
    writeFileSync(
      path.join(dir, 'bench.json'),
      JSON.stringify(
        {
          runs,
          e2e,
          open,
          curve,
          drains,
          rawCosts,
          targets,
          wallClock,
          finalised,
          bullmqAddsPerSecond,
          apiPeakMiB,
          undeliveredEvents: delivery.undelivered,
          cluster: clusterRows,
        },
        null,
        2,
      ),
    );
    log(`\nwritten to ${dir}`);
  } finally {
    // Its Redis keys (a run leaves hundreds of thousands, deleted in pages) and its database.
    await system?.close();
    await redis?.quit();
    await raw?.close(false);
    await servers.close();
  }
}

let options: Readonly<BenchOptions>;
try {
  // The bench's own variables are read here and nowhere else.
  options = parseBenchOptions({
    argv: process.argv.slice(2),
    databaseServer: process.env.BENCH_DATABASE_SERVER,
    redisUrl: process.env.BENCH_REDIS_URL,
    env: process.env,
  });
} catch (error) {
  process.stderr.write(
    `${error instanceof Error ? error.message : String(error)}\n\n${BENCH_USAGE}\n`,
  );
  process.exit(2);
}
(options.cluster ? clusterBench(options) : main(options)).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
