import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { keySlot } from '../../shared/keyspace';
import { HEAP_FLAGS } from '../../shared/node-flags';
import type { RequestQueues } from '../../shared/queues';
import { signUserToken } from '../../shared/tokens';
import { DedicatedMariaDb } from '../../test/harness/mariadb';
import { resultsDir } from '../../test/harness/paths';
import { freePort } from '../../test/harness/ports';
import { RunningProcess } from '../../test/harness/process';
import { RedisCluster } from '../../test/harness/redis-cluster';
import { SystemUnderTest } from '../../test/harness/system';
import { eventually } from '../../test/harness/wait';
import { acceptToFinal, perUnit, type EndToEnd } from './cost';
import { pidsNamed } from './cpu';
import type { LoadRun, Workload } from './generators';
import type { BenchOptions } from './options';
import { readQueues } from './queues';
import { BENCH_MARIADB, fundUsers, seedProducts } from './setup';

/**
 * `npm run bench -- --cluster`: order accepts (`POST /api/orders`, 202) with the workers
 * running, followed until every accepted order is final, against a single Redis and against a
 * 6-node Redis Cluster (3 masters, 3 replicas, started the way the tests start theirs:
 * `test/harness/redis-cluster.ts`) in the same run, the cluster with and without
 * REDIS_MIN_REPLICAS_ACK=1. For each: throughput and latency of the accepts, and CPU time per
 * final order of every process (API, worker, every Redis process, MariaDB) read from /proc —
 * the cost per order of the issue's table, as a ratio to the single Redis of the same round.
 * Each configuration runs twice, alternated. For the cluster: keys and commands served per
 * master, and the orders queue's backlog per partition half-way through the accepts.
 */
const JWT_SECRET = 'bench-secret-0123456789-0123456789-abcdef';
const USERS = 320;
const PRODUCTS = 100;
const ROUNDS = 2;
/** The goal of load/REPORT.md: end-to-end CPU per order on the cluster ÷ on a single Redis. */
const CLUSTER_COST_GOAL = 1.2;

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Setup {
  name: string;
  cluster: boolean;
  /** A single Redis with a replica of its own (never with `cluster`). */
  replica: boolean;
  /** QUEUE_PARTITIONS. */
  partitions: number;
  acks: number;
}

const BASELINE = 'single Redis, 1 partition';

/**
 * The baseline (the default: a single Redis, one partition), the single Redis with the
 * cluster's `partitions` too (what partitions cost apart from the cluster), the same with a
 * replica, acknowledgements off and on (what the cluster's replicas cost apart from the
 * cluster), and the cluster with them, acknowledgements off and on. The cluster's names carry
 * the partitions only when they are not its default (16).
 */
function setupsFor(partitions: number): Setup[] {
  const on = partitions === 16 ? '' : `${partitions} partitions, `;
  const single = { cluster: false, replica: false, partitions };
  const paired = { cluster: false, replica: true, partitions };
  const cluster = { cluster: true, replica: false, partitions };
  return [
    { ...single, name: BASELINE, partitions: 1, acks: 0 },
    { ...single, name: `single Redis, ${partitions} partitions`, acks: 0 },
    { ...paired, name: pairedName(partitions, 0), acks: 0 },
    { ...paired, name: pairedName(partitions, 1), acks: 1 },
    { ...cluster, name: `cluster, ${on}REDIS_MIN_REPLICAS_ACK=0`, acks: 0 },
    { ...cluster, name: `cluster, ${on}REDIS_MIN_REPLICAS_ACK=1`, acks: 1 },
  ];
}

const pairedName = (partitions: number, acks: number) =>
  `single Redis and a replica, ${partitions} partitions, REDIS_MIN_REPLICAS_ACK=${acks}`;

interface PerMaster {
  port: number;
  partitions: number;
  keys: number;
  commands: number;
}

interface Run {
  setup: string;
  round: number;
  accepts: LoadRun;
  /** CPU per group from the first accept until every accepted order was final. */
  endToEnd: EndToEnd;
  perMaster: PerMaster[];
  /** Waiting order jobs per partition, half-way through the accepts (partitioned runs). */
  backlog: number[];
}

/** A Redis of the bench's own: its URL and the pids whose CPU it costs. */
interface OwnRedis {
  url: string;
  pids: number[];
  stop(): Promise<void>;
}

/**
 * What a round runs on: the cluster, the single Redis, the single Redis with a replica, and
 * the MariaDB all setups share.
 */
interface Backends {
  cluster: RedisCluster;
  single: OwnRedis;
  paired: OwnRedis;
  mysqlUrl: string;
  mariadbPids: () => number[];
}

async function commandCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) total += Number(match[1]);
  return total;
}

async function mastersOf(cluster: RedisCluster): Promise<{ port: number; redis: Redis }[]> {
  const nodes = await cluster.topology();
  return nodes
    .filter((n) => n.role === 'master')
    .map((n) => ({ port: n.port, redis: new Redis(n.port, '127.0.0.1') }));
}

/**
 * A single Redis started like the cluster's nodes (loopback, no persistence, noeviction), so
 * neither side pays for an AOF the other does not have, and no other user of the shared Redis
 * is measured with it; with `replicaOf`, a replica of that port, once its first sync is done.
 * Its folder is a temporary one of its own (a replica writes the RDB its primary sends).
 */
async function startRedis(replicaOf?: number): Promise<{ port: number; own: OwnRedis }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-redis-'));
  const server = new RunningProcess(
    '/usr/bin/redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'no', '--save', ''],
      ...['--dir', dir],
      ...['--maxmemory-policy', 'noeviction', '--daemonize', 'no'],
      ...(replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)]),
    ],
    { name: `redis-single:${port}`, env: {}, keepOutput: false },
  );
  const stop = async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await server.waitFor(
      (line) =>
        typeof line === 'string' && line.includes('Ready to accept connections') ? true : undefined,
      '"Ready to accept connections"',
      30_000,
    );
    if (replicaOf !== undefined) await linkedToPrimary(port);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, own: { url: `redis://127.0.0.1:${port}`, pids: [server.child.pid ?? 0], stop } };
}

/** Waits until the replica on `port` has its primary's data and follows it. */
async function linkedToPrimary(port: number): Promise<void> {
  const redis = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null });
  try {
    await eventually(
      `the replica on port ${String(port)} in sync`,
      async () => (await redis.info('replication')).includes('master_link_status:up'),
      60_000,
    );
  } finally {
    redis.disconnect();
  }
}

/** A single Redis and a replica of it: the URL is the primary's, the CPU both of theirs. */
async function startRedisPair(): Promise<OwnRedis> {
  const primary = await startRedis();
  try {
    const replica = await startRedis(primary.port);
    return {
      url: primary.own.url,
      pids: [...primary.own.pids, ...replica.own.pids],
      async stop() {
        await replica.own.stop();
        await primary.own.stop();
      },
    };
  } catch (error) {
    await primary.own.stop();
    throw error;
  }
}

/** Which partitions' queues each master serves, keys under the run's prefix, commands served. */
async function perMasterFigures(
  cluster: RedisCluster,
  masters: { port: number; redis: Redis }[],
  queues: RequestQueues,
  prefix: string,
  commandsBefore: number[],
): Promise<PerMaster[]> {
  const after = await Promise.all(masters.map((m) => commandCalls(m.redis)));
  return Promise.all(
    masters.map(async (m, i) => {
      const slots = await cluster.slotsOf(m.port);
      const partitions = queues.orders.partitions.filter((p) => {
        const slot = keySlot(p.base);
        return slots.some(([a, b]) => slot >= a && slot <= b);
      }).length;
      const keys = (await m.redis.keys(`${prefix}:*`)).length;
      return {
        port: m.port,
        partitions,
        keys,
        commands: (after[i] ?? 0) - (commandsBefore[i] ?? 0),
      };
    }),
  );
}

async function runOnce(
  setup: Setup,
  backends: Backends,
  options: BenchOptions,
  round: number,
  serial: number,
): Promise<Run> {
  const { cluster } = backends;
  const single = setup.replica ? backends.paired : backends.single;
  const id = `${Date.now().toString(36)}${serial}`;
  const prefix = `benchc-${id}`;
  const system = await SystemUnderTest.create({
    mysqlUrl: backends.mysqlUrl,
    database: `shop_benchc_${id}`,
    redisUrl: single.url,
    ...(setup.cluster ? { redisClusterNodes: cluster.seeds } : {}),
    redisPrefix: prefix,
    jwtSecret: JWT_SECRET,
    workers: 1,
    env: {
      ...options.systemEnv,
      NODE_ENV: 'production',
      ADMIN_PASSWORD: 'bench-admin-password',
      LOG_LEVEL: 'info',
      ADMISSION_MAX_BACKLOG: '10000000',
      ADMISSION_MAX_LAG_MS: '60000',
      ADMISSION_MAX_IN_FLIGHT: '100000',
      // As in the plain bench: the whole-history reconcile is measured on its own.
      RECONCILE_INTERVAL_S: '0',
      QUEUE_PARTITIONS: String(setup.partitions),
      REDIS_MIN_REPLICAS_ACK: String(setup.acks),
    },
    nodeFlags: HEAP_FLAGS,
  });
  const masters = setup.cluster ? await mastersOf(cluster) : [];
  const reader = setup.cluster
    ? new Cluster(
        cluster.seeds
          .split(',')
          .map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) })),
        { redisOptions: { maxRetriesPerRequest: null } },
      )
    : new Redis(single.url, { maxRetriesPerRequest: null });
  const queues = readQueues(reader, {
    prefix,
    partitions: setup.partitions,
    previousPartitions: undefined,
    clusterNodes: setup.cluster ? cluster.seeds.split(',') : undefined,
  });
  try {
    await seedProducts(system.database, PRODUCTS);
    await fundUsers(system.database.url, USERS);
    await system.start();
    const tokens = await Promise.all(
      Array.from({ length: USERS }, (_, i) => signUserToken(JWT_SECRET, i + 1, '1h')),
    );
    const groups = {
      ...system.pids(),
      redis: setup.cluster ? cluster.pids() : single.pids,
      mariadb: backends.mariadbPids(),
    };
    const drainTo = { databaseUrl: system.database.url, queues };
    const workload = (key: string): Workload & { kind: 'order' } => ({
      kind: 'order',
      baseUrl: system.apiUrl,
      tokens,
      products: PRODUCTS,
      key: `${prefix}-${key}`,
    });
    // Warm-up, not counted: a cold process pays for JIT compilation in its first seconds.
    const warmUp = { connections: options.connections, durationS: Math.min(3, options.durationS) };
    await acceptToFinal(
      'autocannon',
      `${setup.name} (warm-up)`,
      workload('w'),
      warmUp,
      groups,
      drainTo,
    );

    const commandsBefore = await Promise.all(masters.map((m) => commandCalls(m.redis)));
    let backlog: number[] = [];
    const sampled =
      setup.partitions > 1
        ? sleep((options.durationS * 1_000) / 2).then(async () => {
            backlog = await Promise.all(
              queues.orders.partitions.map((p) => p.queue.getWaitingCount()),
            );
          })
        : Promise.resolve();
    const shape = { connections: options.connections, durationS: options.durationS };
    const { run, endToEnd } = await acceptToFinal(
      'autocannon',
      setup.name,
      workload('o'),
      shape,
      groups,
      drainTo,
    );
    await sampled;
    const perMaster = await perMasterFigures(cluster, masters, queues, prefix, commandsBefore);
    return { setup: setup.name, round, accepts: run, endToEnd, perMaster, backlog };
  } finally {
    await queues.close();
    for (const m of masters) m.redis.disconnect();
    reader.disconnect();
    await system.close();
  }
}

/** System CPU µs per final order (every group but the load generator). */
const systemUs = (run: Run) => perUnit(run.endToEnd.cpu, run.endToEnd.finalised);
const us = (n: number) => n.toFixed(0);

/**
 * Runs `setups` `rounds` times, alternated, on a Redis Cluster, a single Redis and a MariaDB of
 * their own, started here and stopped before it returns.
 */
async function runSetups(
  options: BenchOptions,
  setups: readonly Setup[],
  rounds: number,
): Promise<Run[]> {
  log(
    '== starting a 6-node Redis Cluster (3 masters, 3 replicas), a single Redis, one with a replica, a MariaDB',
  );
  const cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 });
  const runs: Run[] = [];
  let single: OwnRedis | undefined;
  let paired: OwnRedis | undefined;
  let mariadb: DedicatedMariaDb | undefined;
  try {
    single = (await startRedis()).own;
    paired = await startRedisPair();
    // A MariaDB of the bench's own, so its CPU time is the bench's alone (as in npm run bench).
    mariadb =
      options.databaseServer === undefined
        ? await DedicatedMariaDb.start(BENCH_MARIADB)
        : undefined;
    const shared = mariadb === undefined ? pidsNamed('mariadbd') : [];
    const ownMariadb = mariadb;
    const backends: Backends = {
      cluster,
      single,
      paired,
      mysqlUrl: ownMariadb?.url() ?? options.databaseServer ?? '',
      mariadbPids: () => (ownMariadb?.pid === undefined ? shared : [ownMariadb.pid]),
    };
    for (let round = 0; round < rounds; round++) {
      for (const [i, setup] of setups.entries()) {
        log(`\n== ${setup.name}, run ${round + 1} of ${rounds}`);
        runs.push(await runOnce(setup, backends, options, round, round * setups.length + i));
      }
    }
  } finally {
    await single?.stop();
    await paired?.stop();
    await mariadb?.destroy();
    await cluster.stop();
  }
  return runs;
}

/** `npm run bench -- --cluster`: every setup, {@link ROUNDS} rounds, and the report. */
export async function clusterBench(options: BenchOptions): Promise<void> {
  const setups = setupsFor(options.partitions);
  const runs = await runSetups(options, setups, ROUNDS);
  const report = clusterReport(runs, setups, options);
  process.stdout.write(`\n${report}\n`);
  const dir = resultsDir(new Date(), 'bench-cluster');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'bench-cluster.md'), `${report}\n`);
  writeFileSync(path.join(dir, 'bench-cluster.json'), JSON.stringify({ runs }, null, 2));
  log(`\nwritten to ${dir}`);
}

/** One cluster-mode row of the cost table: system CPU per final order, cluster ÷ single Redis. */
export interface ClusterFigure {
  setup: string;
  clusterUs: number;
  singleUs: number;
}

/**
 * The cost table's cluster-mode figures in a plain `npm run bench`: one round of the default
 * setup (a single Redis, one partition) and of the cluster with and without acknowledgements.
 */
export async function clusterFigures(options: BenchOptions): Promise<ClusterFigure[]> {
  const setups = setupsFor(options.partitions).filter((s) => s.name === BASELINE || s.cluster);
  const runs = await runSetups(options, setups, 1);
  const base = runs.find((r) => r.setup === BASELINE);
  if (base === undefined) throw new Error('the single Redis run is missing');
  return runs
    .filter((r) => r !== base)
    .map((r) => ({ setup: r.setup, clusterUs: systemUs(r), singleUs: systemUs(base) }));
}

/**
 * The report: per setup and round, accepts and CPU per final order, each round's cluster
 * figure divided by the single Redis (1 partition) of the same round; the goal is judged on
 * the mean of the rounds' ratios.
 */
function clusterReport(runs: Run[], setups: readonly Setup[], options: BenchOptions): string {
  const of = (setup: string, round: number) =>
    runs.find((r) => r.setup === setup && r.round === round);
  const ratio = (run: Run) => {
    const base = of(BASELINE, run.round);
    return base === undefined ? Number.NaN : systemUs(run) / systemUs(base);
  };
  const meanRatio = (setup: string) => {
    const ratios = runs.filter((r) => r.setup === setup).map(ratio);
    return ratios.reduce((a, b) => a + b, 0) / ratios.length;
  };
  const clusterSetups = setups.filter((s) => s.cluster);
  const best = setups.map((setup) =>
    runs
      .filter((r) => r.setup === setup.name)
      .reduce((a, b) => (b.accepts.requestsPerSecond > a.accepts.requestsPerSecond ? b : a)),
  );
  const group = (run: Run, name: string) =>
    us((run.endToEnd.cpu[name] ?? 0) / run.endToEnd.finalised);
  return [
    `# Cluster benchmark ${new Date().toISOString()} (Node ${process.version}, autocannon, ${options.durationS} s runs, ${options.connections} connections, 1 API + 1 worker process, ${options.partitions} partitions on the cluster; ${ROUNDS} rounds, setups alternated)`,
    '',
    '## Cost per order: CPU per final order on the cluster ÷ on a single Redis (same round)',
    '',
    '| figure | rounds | mean | goal | met |',
    '|---|---|---:|---:|:---:|',
    ...clusterSetups.map((setup) => {
      const mean = meanRatio(setup.name);
      const each = runs
        .filter((r) => r.setup === setup.name)
        .map(
          (r) =>
            `${ratio(r).toFixed(2)}× (${us(systemUs(r))} / ${us(systemUs(of(BASELINE, r.round) ?? r))} µs)`,
        );
      return `| ${setup.name}: end-to-end CPU per order ÷ ${BASELINE} | ${each.join('; ')} | ${mean.toFixed(2)}× | ≤ ${CLUSTER_COST_GOAL}× | ${mean <= CLUSTER_COST_GOAL ? 'yes' : '**no**'} |`;
    }),
    '',
    '## What the cluster adds to its replicas: CPU per final order on the cluster ÷ on a single Redis with a replica (same partitions and acknowledgements, same round)',
    '',
    '| figure | rounds | mean |',
    '|---|---|---:|',
    ...clusterSetups.map((setup) => {
      const paired = pairedName(setup.partitions, setup.acks);
      const each = runs
        .filter((r) => r.setup === setup.name)
        .map((r) => {
          const base = of(paired, r.round);
          return base === undefined ? Number.NaN : systemUs(r) / systemUs(base);
        });
      const mean = each.reduce((x, y) => x + y, 0) / each.length;
      return `| ${setup.name} ÷ ${paired} | ${each.map((x) => `${x.toFixed(2)}×`).join('; ')} | ${mean.toFixed(2)}× |`;
    }),
    '',
    '## Request to final: CPU µs per final order (API / worker / every Redis process / MariaDB)',
    '',
    '| setup | round | accepts/s | p50 ms | p99 ms | non-2xx | final | s to final | API | worker | Redis | MariaDB | system | ÷ single, 1 partition |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map((r) => {
      const a = r.accepts;
      const e = r.endToEnd;
      return `| ${r.setup} | ${r.round + 1} | ${a.requestsPerSecond.toFixed(0)} | ${a.p50Ms} | ${a.p99Ms} | ${a.non2xx + a.errors} | ${e.finalised} | ${e.toFinalS.toFixed(1)} | ${group(r, 'api')} | ${group(r, 'workers')} | ${group(r, 'redis')} | ${group(r, 'mariadb')} | ${us(systemUs(r))} | ${ratio(r).toFixed(2)}× |`;
    }),
    '',
    '| setup (run with more accepts/s) | master | partitions | keys | commands in the run |',
    '|---|---:|---:|---:|---:|',
    ...best
      .filter((r) => r.perMaster.length > 0)
      .flatMap((r) =>
        r.perMaster.map(
          (m) => `| ${r.setup} | :${m.port} | ${m.partitions} | ${m.keys} | ${m.commands} |`,
        ),
      ),
    '',
    `| setup (run with more accepts/s) | waiting order jobs per partition, half-way (p0 … p${options.partitions - 1}) |`,
    '|---|---|',
    ...best
      .filter((r) => r.backlog.length > 0)
      .map((r) => `| ${r.setup} | ${r.backlog.join(' ')} |`),
  ].join('\n');
}
