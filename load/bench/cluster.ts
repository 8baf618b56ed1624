import { testDatabaseUrl } from '../../test/harness/env';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster, Redis } from 'ioredis';
import { createKeyspace, keySlot, type Keyspace } from '../../shared/keyspace';
import { HEAP_FLAGS } from '../../shared/node-flags';
import { signUserToken } from '../../shared/tokens';
import { resultsDir } from '../../test/harness/paths';
import { freePort } from '../../test/harness/ports';
import { RunningProcess } from '../../test/harness/process';
import { RedisCluster } from '../../test/harness/redis-cluster';
import { SystemUnderTest } from '../../test/harness/system';
import { cannon, type Throughput } from './measure';
import type { BenchOptions } from './options';
import { fundUsers, seedProducts } from './setup';

/**
 * `npm run bench -- --cluster`: the order accept (`POST /api/orders`, 202) against a single
 * Redis and against a 6-node Redis Cluster (3 masters, 3 replicas, started the way the tests
 * start theirs: `test/harness/redis-cluster.ts`) in the same run, the cluster with and without
 * REDIS_MIN_REPLICAS_ACK=1. Each configuration runs twice, alternated, and reports its better
 * run (one run apiece moves with machine noise). For the cluster: keys and commands served per
 * master, and the orders queue's backlog per partition half-way through the run.
 */
const JWT_SECRET = 'bench-secret-0123456789-0123456789-abcdef';
const USERS = 320;
const PRODUCTS = 100;
const PARTITIONS = 16;

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Setup {
  name: string;
  cluster: boolean;
  /** On the single Redis: QUEUE_PARTITIONS (the cluster always runs 16). */
  partitions: number;
  acks: number;
}

/** The single Redis with 16 partitions too: what partitions cost apart from the cluster. */
const SETUPS: Setup[] = [
  { name: 'single Redis, 1 partition', cluster: false, partitions: 1, acks: 0 },
  { name: 'single Redis, 16 partitions', cluster: false, partitions: PARTITIONS, acks: 0 },
  { name: 'cluster, REDIS_MIN_REPLICAS_ACK=0', cluster: true, partitions: PARTITIONS, acks: 0 },
  { name: 'cluster, REDIS_MIN_REPLICAS_ACK=1', cluster: true, partitions: PARTITIONS, acks: 1 },
];

interface PerMaster {
  port: number;
  partitions: number;
  keys: number;
  commands: number;
}

interface Run {
  setup: string;
  accepts: Throughput;
  perMaster: PerMaster[];
  /** Waiting order jobs per partition, half-way through the run (cluster runs). */
  backlog: number[];
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

/** LLEN of each partition's orders wait list. */
async function backlogPerPartition(redis: Cluster, keyspace: Keyspace): Promise<number[]> {
  return Promise.all(keyspace.all.map((p) => redis.llen(`${keyspace.partition(p)}:orders:wait`)));
}

/**
 * A single Redis started like the cluster's nodes (loopback, no persistence, noeviction), so
 * neither side pays for an AOF the other does not have, and no other user of the shared Redis
 * is measured with it.
 */
async function startSingleRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const server = new RunningProcess(
    '/usr/bin/redis-server',
    [
      ...['--port', String(port), '--bind', '127.0.0.1', '--appendonly', 'no', '--save', ''],
      ...['--maxmemory-policy', 'noeviction', '--daemonize', 'no'],
    ],
    { name: `redis-single:${port}`, env: {}, keepOutput: false },
  );
  await server.waitFor(
    (line) =>
      typeof line === 'string' && line.includes('Ready to accept connections') ? true : undefined,
    '"Ready to accept connections"',
    30_000,
  );
  return { url: `redis://127.0.0.1:${port}`, stop: () => server.stop() };
}

async function runOnce(
  setup: Setup,
  cluster: RedisCluster,
  singleUrl: string,
  options: BenchOptions,
  serial: number,
): Promise<Run> {
  const id = `${Date.now().toString(36)}${serial}`;
  const prefix = `benchc-${id}`;
  const system = await SystemUnderTest.create({
    mysqlUrl: options.databaseServer ?? testDatabaseUrl(''),
    database: `shop_benchc_${id}`,
    redisUrl: singleUrl,
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
      QUEUE_PARTITIONS: String(setup.partitions),
      REDIS_MIN_REPLICAS_ACK: String(setup.acks),
    },
    nodeFlags: HEAP_FLAGS,
  });
  const masters = setup.cluster ? await mastersOf(cluster) : [];
  const clusterClient = setup.cluster
    ? new Cluster(
        cluster.seeds
          .split(',')
          .map((seed) => ({ host: '127.0.0.1', port: Number(seed.split(':')[1]) })),
      )
    : undefined;
  try {
    await seedProducts(system.database, PRODUCTS);
    await fundUsers(system.database.url, USERS);
    await system.start();
    const tokens = await Promise.all(
      Array.from({ length: USERS }, (_, i) => signUserToken(JWT_SECRET, i + 1, '1h')),
    );
    const before = await Promise.all(masters.map((m) => commandCalls(m.redis)));
    const keyspace = createKeyspace(prefix, PARTITIONS, true);
    let backlog: number[] = [];
    const sampled = clusterClient
      ? sleep((options.durationS * 1_000) / 2).then(async () => {
          backlog = await backlogPerPartition(clusterClient, keyspace);
        })
      : Promise.resolve();
    let n = 0;
    const accepts = await cannon(setup.name, {
      url: system.apiUrl,
      connections: options.connections,
      duration: options.durationS,
      requests: [
        {
          method: 'POST',
          path: '/api/orders',
          setupRequest: (request) => {
            const i = n++;
            return {
              ...request,
              headers: {
                'content-type': 'application/json',
                authorization: `Bearer ${tokens[i % USERS] ?? ''}`,
                'idempotency-key': `benchc-${i}`,
              },
              body: JSON.stringify({ items: [{ productId: 1 + (i % PRODUCTS), quantity: 1 }] }),
            };
          },
        },
      ],
    });
    await sampled;
    const after = await Promise.all(masters.map((m) => commandCalls(m.redis)));
    const perMaster = await Promise.all(
      masters.map(async (m, i) => {
        const slots = await cluster.slotsOf(m.port);
        const partitions = keyspace.all.filter((p) => {
          const slot = keySlot(keyspace.partition(p));
          return slots.some(([a, b]) => slot >= a && slot <= b);
        }).length;
        const keys = (await m.redis.keys(`${prefix}:*`)).length;
        return { port: m.port, partitions, keys, commands: (after[i] ?? 0) - (before[i] ?? 0) };
      }),
    );
    return { setup: setup.name, accepts, perMaster, backlog };
  } finally {
    for (const m of masters) m.redis.disconnect();
    clusterClient?.disconnect();
    await system.close();
  }
}

export async function clusterBench(options: BenchOptions): Promise<void> {
  log('== starting a 6-node Redis Cluster (3 masters, 3 replicas)');
  const cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 });
  const runs: Run[] = [];
  let single: { url: string; stop(): Promise<void> } | undefined;
  try {
    single = await startSingleRedis();
    for (let round = 0; round < 2; round++) {
      for (const [i, setup] of SETUPS.entries()) {
        log(`\n== ${setup.name}, run ${round + 1} of 2`);
        runs.push(await runOnce(setup, cluster, single.url, options, round * SETUPS.length + i));
      }
    }
  } finally {
    await single?.stop();
    await cluster.stop();
  }
  const best = SETUPS.map((setup) =>
    runs
      .filter((r) => r.setup === setup.name)
      .reduce((a, b) => (b.accepts.requestsPerSecond > a.accepts.requestsPerSecond ? b : a)),
  );
  const singleRps = best[0]?.accepts.requestsPerSecond ?? 1;
  const lines = [
    `# Cluster benchmark ${new Date().toISOString()} (Node ${process.version}, ${options.durationS} s runs, ${options.connections} connections, 1 API + 1 worker process, ${PARTITIONS} partitions on the cluster; better of two alternated runs)`,
    '',
    '| setup | accepts/s | × single | p50 ms | p99 ms | non-2xx | errors | runs (accepts/s) |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...best.map((r) => {
      const a = r.accepts;
      const all = runs
        .filter((x) => x.setup === r.setup)
        .map((x) => x.accepts.requestsPerSecond.toFixed(0));
      return `| ${r.setup} | ${a.requestsPerSecond.toFixed(0)} | ${(a.requestsPerSecond / singleRps).toFixed(2)} | ${a.p50Ms} | ${a.p99Ms} | ${a.non2xx} | ${a.errors} | ${all.join(', ')} |`;
    }),
    '',
    '| setup (best run) | master | partitions | keys | commands in the run |',
    '|---|---:|---:|---:|---:|',
    ...best
      .filter((r) => r.perMaster.length > 0)
      .flatMap((r) =>
        r.perMaster.map(
          (m) => `| ${r.setup} | :${m.port} | ${m.partitions} | ${m.keys} | ${m.commands} |`,
        ),
      ),
    '',
    '| setup (best run) | waiting order jobs per partition, half-way (p0 … p15) |',
    '|---|---|',
    ...best
      .filter((r) => r.backlog.length > 0)
      .map((r) => `| ${r.setup} | ${r.backlog.join(' ')} |`),
  ];
  const report = lines.join('\n');
  process.stdout.write(`\n${report}\n`);
  const dir = resultsDir(new Date(), 'bench-cluster');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'bench-cluster.md'), `${report}\n`);
  writeFileSync(path.join(dir, 'bench-cluster.json'), JSON.stringify({ runs }, null, 2));
  log(`\nwritten to ${dir}`);
}
