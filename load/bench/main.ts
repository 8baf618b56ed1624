import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { clusterBench } from './cluster';
import { cannon, watchMemory, type Throughput } from './measure';
import { BENCH_USAGE, parseBenchOptions, type BenchOptions } from './options';
import { rawSqlLoop, type RawSqlResult } from './raw-sql';
import { fundUsers, seedProducts, timeToFinalise } from './setup';

/**
 * `npm run bench`: the system against hand-written baselines, all measured in this one run on
 * the same machine, so the ratios mean the same anywhere. Targets (load/PLAN.md): product
 * detail ≥ 0.9× Express, accepts ≥ 0.6× Express, orders finalised ≥ 1.0× raw SQL (many
 * products) and ≥ 1.5× (one hot product), API memory < 200 MiB, zero errors.
 */
const JWT_SECRET = 'bench-secret-0123456789-0123456789-abcdef';
const USERS = 200;
const MANY_PRODUCTS = 500;

const log = (line: string) => process.stderr.write(`${line}\n`);

async function startServer(
  kind: 'bare' | 'express',
  options: BenchOptions,
): Promise<{ stop: () => Promise<void>; url: string }> {
  const server = runBuilt('load/bench/servers.js', [kind], { ...options.systemEnv });
  const line = await server.waitForLog('listening');
  return { stop: () => server.stop(), url: `http://127.0.0.1:${String(line.port)}` };
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
  const { durationS: DURATION, connections: CONNECTIONS, orders: ORDERS, redisUrl } = options;
  const id = Date.now().toString(36);
  const prefix = `bench-${id}`;
  const settings: Record<string, string> = {
    ...options.systemEnv,
    NODE_ENV: 'production',
    ADMIN_PASSWORD: 'bench-admin-password',
    // The default level: what production runs with (one line per job in the workers).
    LOG_LEVEL: 'info',
    ADMISSION_MAX_BACKLOG: '10000000',
    ADMISSION_MAX_LAG_MS: '60000',
  };
  // One API and one worker process, as production runs them: with the capped heap.
  const system = await SystemUnderTest.create({
    mysqlUrl: options.databaseServer,
    database: `shop_bench_${id}`,
    redisUrl,
    redisPrefix: prefix,
    jwtSecret: JWT_SECRET,
    workers: 1,
    env: settings,
    nodeFlags: HEAP_FLAGS,
  });
  const db = system.database;
  const results: Throughput[] = [];
  let raw: MigratedDatabase | undefined;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  try {
    raw = await MigratedDatabase.create(options.databaseServer, `shop_bench_raw_${id}`);
    await seedProducts(db, MANY_PRODUCTS);
    await seedProducts(raw, MANY_PRODUCTS);
    await fundUsers(db.url, USERS);
    await fundUsers(raw.url, USERS);
    const tokens = await Promise.all(
      Array.from({ length: USERS }, (_, i) => signUserToken(JWT_SECRET, i + 1, '1h')),
    );

    log('\n== baselines: the same product JSON from node:http and from an Express hello-world');
    for (const kind of ['bare', 'express'] as const) {
      const server = await startServer(kind, options);
      results.push(
        await cannon(`${kind} product JSON`, {
          url: `${server.url}/api/products/1`,
          connections: CONNECTIONS,
          duration: DURATION,
        }),
      );
      await server.stop();
    }

    await system.start();
    const apiUrl = system.apiUrl;
    const memory = watchMemory(system.pids().api[0] ?? 0);

    log('\n== the API: cached product detail');
    await fetch(`${apiUrl}/api/products/1`);
    results.push(
      await cannon('API product detail (cached)', {
        url: `${apiUrl}/api/products/1`,
        connections: CONNECTIONS,
        duration: DURATION,
      }),
    );

    log('\n== the API: order accepts (202), workers running');
    let n = 0;
    results.push(
      await cannon('API order accepts', {
        url: apiUrl,
        connections: CONNECTIONS,
        duration: DURATION,
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
                  'idempotency-key': `bench-${i}`,
                },
                body: JSON.stringify({
                  items: [{ productId: 1 + (i % MANY_PRODUCTS), quantity: 1 }],
                }),
              };
            },
          },
        ],
      }),
    );
    const apiPeakMiB = memory.stop();
    // Let the workers drain what was accepted before measuring them alone.
    await timeToFinalise(db, redis, prefix, 0, 600_000);

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
    for (const [label, productFor] of [
      ['many products', (i: number) => 1 + (i % MANY_PRODUCTS)],
      ['one hot product', () => MANY_PRODUCTS + 1],
    ] as const) {
      log(`\n== orders finalised: ${label} (${ORDERS} orders)`);
      // As many connections as one worker process runs orders at once (WORKER_CONCURRENCY).
      const rawResult = await rawSqlLoop(
        raw.url,
        ORDERS,
        8,
        productFor,
        (i) => 1 + (i % USERS),
        label.replace(/ /g, '-'),
      );
      const perSecond = await timeToFinalise(db, redis, prefix, ORDERS, 600_000, productFor, USERS);
      finalised[label] = { system: perSecond, raw: rawResult };
      log(`   system ${perSecond.toFixed(0)}/s, raw SQL loop ${rawResult.perSecond.toFixed(0)}/s`);
    }
    await system.stop();

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
    const runs: Throughput[] = [];
    for (const level of ['info', 'http', 'info', 'http']) {
      runs.push(await productDetailAtLogLevel(env, level, options));
    }
    const best = (level: string) =>
      runs
        .filter((r) => r.name.endsWith(`=${level}`))
        .reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));
    const quiet = best('info');
    const logged = best('http');
    results.push(quiet, logged);

    const rps = (name: string) => results.find((r) => r.name === name)?.requestsPerSecond ?? 0;
    const express = rps('express product JSON');
    const ratios = [
      ['product detail / Express', rps('API product detail (cached)') / express, 0.9],
      ['accepts / Express', rps('API order accepts') / express, 0.6],
      [
        'finalised / raw SQL (many)',
        (finalised['many products']?.system ?? 0) /
          (finalised['many products']?.raw.perSecond ?? 1),
        1.0,
      ],
      [
        'finalised / raw SQL (hot)',
        (finalised['one hot product']?.system ?? 0) /
          (finalised['one hot product']?.raw.perSecond ?? 1),
        1.5,
      ],
    ] as const;
    const errors = results.reduce((sum, r) => sum + r.errors + r.non2xx, 0);
    const lines = [
      `# Benchmark ${new Date().toISOString()} (Node ${process.version}, ${DURATION} s runs, ${CONNECTIONS} connections)`,
      '',
      '| run | req/s | p50 ms | p99 ms | non-2xx | errors |',
      '|---|---:|---:|---:|---:|---:|',
      ...results.map(
        (r) =>
          `| ${r.name} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50Ms} | ${r.p99Ms} | ${r.non2xx} | ${r.errors} |`,
      ),
      `| raw BullMQ add loop (50 in flight) | ${bullmqAddsPerSecond.toFixed(0)} | | | | |`,
      ...Object.entries(finalised).map(
        ([label, f]) =>
          `| orders finalised, ${label}: system / raw SQL loop (8 connections) | ${f.system.toFixed(0)} / ${f.raw.perSecond.toFixed(0)} | | | | |`,
      ),
      '',
      '| target | measured | goal | met |',
      '|---|---:|---:|:---:|',
      ...ratios.map(
        ([name, value, goal]) =>
          `| ${name} | ${value.toFixed(2)}× | ≥ ${goal}× | ${value >= goal ? 'yes' : 'no'} |`,
      ),
      `| accepts / raw BullMQ add | ${(rps('API order accepts') / bullmqAddsPerSecond).toFixed(2)}× | (info) | |`,
      `| access-log cost (throughput lost at LOG_LEVEL=http) | ${((1 - logged.requestsPerSecond / quiet.requestsPerSecond) * 100).toFixed(1)} % | < 5 % | ${logged.requestsPerSecond / quiet.requestsPerSecond > 0.95 ? 'yes' : 'no'} |`,
      `| API peak memory | ${apiPeakMiB.toFixed(0)} MiB | < 200 MiB | ${apiPeakMiB < 200 ? 'yes' : 'no'} |`,
      `| errors (non-2xx + socket errors) | ${errors} | 0 | ${errors === 0 ? 'yes' : 'no'} |`,
    ];
    const report = lines.join('\n');
    process.stdout.write(`\n${report}\n`);
    const dir = resultsDir(new Date(), 'bench');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'bench.md'), `${report}\n`);
    writeFileSync(
      path.join(dir, 'bench.json'),
      JSON.stringify({ results, finalised, bullmqAddsPerSecond, apiPeakMiB, ratios }, null, 2),
    );
    log(`\nwritten to ${dir}`);
  } finally {
    // Its Redis keys (a run leaves hundreds of thousands, deleted in pages) and its database.
    await system.close();
    await redis.quit();
    await raw?.close(false);
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
