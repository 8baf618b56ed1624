import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProductRow } from '../harness/database';
import type { CutMode } from '../harness/fault-proxy';
import { DedicatedMariaDb } from '../harness/mariadb';
import { DedicatedRedis } from '../harness/redis';
import { RedisCluster } from '../harness/redis-cluster';
import { SystemUnderTest } from '../harness/system';
import { Clients } from './clients';
import { ChaosRows } from './rows';
import type { ScenarioSpec } from './scenarios';
import { failoverFigures, type FailoverTimeline } from './failover';
import { verify, type FaultWindow, type ScenarioResult } from './verify';

/** Share of the orders their clients cancel (half before processing, half once PAID). */
const CANCEL_SHARE = 0.2;

const CHAOS_JWT_SECRET = 'chaos-secret-0123456789-0123456789-abcdef';

export interface RunOptions {
  /** How every cut dependency behaves (see {@link CutMode}); default: each scenario's own. */
  cutMode?: CutMode;
  /** Keep the scenario's database (and Redis keys) for inspection. */
  keep: boolean;
  /** MariaDB server (the path is ignored: every scenario creates its own database). */
  mysqlUrl: string;
  /** The shared Redis, used by every scenario except those with a dedicated one. */
  redisUrl: string;
  /** Where the processes' output goes, one folder per scenario; none if unset. */
  logDir?: string;
  /** Extra environment for the system's processes. */
  extraEnv?: Record<string, string>;
  /** Override every scenario's retry policy (JOB_ATTEMPTS, JOB_BACKOFF_MS). */
  jobAttempts?: number;
  jobBackoffMs?: number;
  log(line: string): void;
}

export const CHAOS_PRODUCTS: ProductRow[] = [
  { id: 1, price: 1_000, stock: 10_000_000 },
  { id: 2, price: 2_500, stock: 10_000_000 },
  { id: 3, price: 7_000, stock: 10_000_000 },
  { id: 4, price: 12_000, stock: 10_000_000 },
];
/** Enough for thousands of orders per user (orders cost at most 3 × 12,000 + 12,000). */
const FUNDING = 10_000_000;

/**
 * Runs one scenario end to end: its own database and Redis prefix, the real processes behind
 * fault proxies, clients ordering through the fault, a drain, then the verdict. Whatever it
 * created is torn down, also when it fails; a failure becomes a failed result, not a throw.
 */
export async function runScenario(
  scenario: ScenarioSpec,
  options: RunOptions,
): Promise<ScenarioResult> {
  const spec: ScenarioSpec = {
    ...scenario,
    jobAttempts: options.jobAttempts ?? scenario.jobAttempts,
    jobBackoffMs: options.jobBackoffMs ?? scenario.jobBackoffMs,
  };
  const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const startedAt = Date.now();
  const cleanup: (() => Promise<unknown>)[] = [];
  const log = (line: string) => {
    options.log(`[${spec.name}] ${line}`);
  };
  const settings = {
    workers: spec.workers,
    ratePerSecond: spec.ratePerSecond,
    faultMs: spec.faultMs,
    jobAttempts: spec.jobAttempts,
    jobBackoffMs: spec.jobBackoffMs,
    lockMs: spec.lockMs,
    ...(spec.fault.kind === 'cut' ? { cutMode: options.cutMode ?? spec.fault.mode } : {}),
    ...(spec.fault.kind === 'redis-restart' ? { appendfsync: spec.fault.appendfsync } : {}),
    ...(spec.fault.kind === 'redis-master-kill'
      ? { redisMinReplicasAck: spec.fault.acks, queuePartitions: CLUSTER_PARTITIONS }
      : {}),
  };
  let system: SystemUnderTest | undefined;
  try {
    log(`${spec.title}: preparing database shop_chaos_${id}`);
    let dedicated: DedicatedRedis | undefined;
    if (spec.fault.kind === 'redis-restart') {
      dedicated = await DedicatedRedis.start({
        appendfsync: spec.fault.appendfsync,
        ...(options.logDir ? { logFile: path.join(options.logDir, spec.name, 'redis.log') } : {}),
      });
      const owned = dedicated;
      cleanup.push(() => owned.destroy());
    }
    let mariadb: DedicatedMariaDb | undefined;
    if (spec.fault.kind === 'db-crash') {
      mariadb = await DedicatedMariaDb.start({
        serverId: 1,
        ...(options.logDir
          ? { logFile: path.join(options.logDir, spec.name, 'mariadbd.log') }
          : {}),
      });
      const owned = mariadb;
      cleanup.push(() => owned.destroy());
    }
    let cluster: RedisCluster | undefined;
    if (spec.fault.kind === 'redis-master-kill') {
      cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 });
      const owned = cluster;
      cleanup.push(() => owned.stop());
    }
    system = await SystemUnderTest.create({
      // A server killed for real is the scenario's own; the shared one only through its proxy.
      mysqlUrl: mariadb?.url() ?? options.mysqlUrl,
      database: `shop_chaos_${id}`,
      redisUrl: dedicated?.url ?? options.redisUrl,
      ...(cluster ? { redisClusterNodes: cluster.seeds } : {}),
      redisPrefix: `shopchaos-${id}`,
      jwtSecret: CHAOS_JWT_SECRET,
      // A dedicated Redis or cluster is killed for real; the shared one only through its proxy.
      proxies: {
        database: mariadb === undefined,
        redis: dedicated === undefined && cluster === undefined,
      },
      workers: spec.workers,
      env: {
        NODE_ENV: 'development',
        LOG_LEVEL: 'info',
        WORKER_LOCK_MS: String(spec.lockMs),
        JOB_ATTEMPTS: String(spec.jobAttempts),
        JOB_BACKOFF_MS: String(spec.jobBackoffMs),
        SHUTDOWN_TIMEOUT_MS: '5000',
        ...(spec.fault.kind === 'redis-master-kill'
          ? {
              QUEUE_PARTITIONS: String(CLUSTER_PARTITIONS),
              REDIS_MIN_REPLICAS_ACK: String(spec.fault.acks),
            }
          : {}),
        ...spec.env,
        ...options.extraEnv,
      },
      keep: options.keep,
      ...(options.logDir ? { logDir: path.join(options.logDir, spec.name) } : {}),
    });
    const created = system;
    cleanup.push(() => created.close());
    await system.database.insertProducts(CHAOS_PRODUCTS, 'Chaos product');
    await system.start();

    const clients = await Clients.create({
      apiUrl: system.apiUrl,
      jwtSecret: CHAOS_JWT_SECRET,
      users: spec.users,
      firstUserId: 1_001,
      productIds: CHAOS_PRODUCTS.map((p) => p.id),
      keyPrefix: `chaos-${id}`,
      ratePerSecond: spec.ratePerSecond,
      maxInFlight: spec.maxInFlight,
      submitGiveUpMs: spec.faultMs + spec.afterMs + 60_000,
      // Cancellations race their orders through every fault; the verdict counts them in.
      cancelShare: spec.cancelShare ?? CANCEL_SHARE,
    });
    cleanup.push(() => clients.stop());
    await clients.fund(FUNDING);
    log(`system up (api ${system.apiUrl}, ${spec.workers} workers); ordering`);

    let phase = 'warm-up';
    const ticker = setInterval(() => {
      const c = clients.counts();
      const since = Date.now() - 1_000;
      const recent = clients.samples.filter((s) => s.at + s.ms >= since && s.kind === 'submit');
      const busy = recent.filter((s) => s.status === 503).length;
      const silent = recent.filter((s) => s.status === 0).length;
      log(
        `${Math.round((Date.now() - startedAt) / 1_000)}s ${phase}: accepted ${c.accepted}, ` +
          `final/on-hold ${c.resolved}, pending ${c.pending}, submitting ${c.inFlight}, ` +
          `last second: 503 ${busy}, no answer ${silent}`,
      );
    }, 1_000);
    cleanup.push(() => {
      clearInterval(ticker);
      return Promise.resolve();
    });

    clients.start();
    await sleep(spec.warmMs);
    phase = 'fault';
    const fault = await applyFault(
      spec,
      options.cutMode,
      { system, dedicated, mariadb, cluster },
      log,
    );
    phase = 'after the fault';
    await sleep(spec.afterMs);
    phase = 'finishing submits';
    await clients.stopSubmitting();
    phase = 'drain';
    await clients.drain(spec.drainMs, spec.drainStallMs);
    await clients.stop();
    clearInterval(ticker);
    // Quiescent before checking: nothing may change the rows reconcile reads.
    await system.stop();
    log('verifying');
    const verdict = await verify({
      spec,
      clients,
      db: new ChaosRows(system.database),
      fault,
      settings,
      startedAt,
      problems: system.problems(),
      problemLines: system.problemLines(),
      unexpectedExits: system.unexpectedExits,
    });
    if (!fault.failover) return verdict;
    const lostIds = clients.orders
      .filter((o) => o.id !== undefined && o.resolvedAt === undefined)
      .map((o) => o.id ?? '');
    const applied = new Set((await new ChaosRows(system.database).orders(lostIds)).keys());
    return {
      ...verdict,
      failover: failoverFigures(
        fault.failover,
        clients,
        `shopchaos-${id}`,
        CLUSTER_PARTITIONS,
        applied,
      ),
    };
  } catch (error) {
    log(`error: ${error instanceof Error ? error.message : String(error)}`);
    return failedResult(spec, settings, startedAt, error, system);
  } finally {
    for (const step of cleanup.reverse()) {
      await step().catch((error: unknown) => {
        log(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
  }
}

/** Partitions on the scenario's own Redis Cluster: the default there. */
const CLUSTER_PARTITIONS = 16;

interface Targets {
  system: SystemUnderTest;
  dedicated: DedicatedRedis | undefined;
  mariadb: DedicatedMariaDb | undefined;
  cluster: RedisCluster | undefined;
}

async function applyFault(
  spec: ScenarioSpec,
  cutMode: CutMode | undefined,
  targets: Targets,
  log: (line: string) => void,
): Promise<FaultWindow & { failover?: FailoverTimeline }> {
  const startedAt = Date.now();
  const { fault } = spec;
  if (fault.kind === 'redis-master-kill') {
    const cluster = targets.cluster;
    if (!cluster) throw new Error('no Redis Cluster');
    const timeline = await killMaster(cluster, fault.replicaStallMs, log);
    return {
      startedAt,
      endedAt: timeline.replicaOnlineAt,
      cutAt: timeline.killedAt,
      restoreAt: timeline.replicaOnlineAt,
      failover: timeline,
    };
  }
  if (fault.kind === 'worker-kill') {
    const replacements: Promise<void>[] = [];
    let kills = 0;
    for (; Date.now() - startedAt < spec.faultMs && kills < 10_000; kills++) {
      await sleep(fault.everyMs);
      const victim = Math.floor(Math.random() * targets.system.workerCount);
      // Not awaited: the next kill may hit a worker that is still starting, as in real life.
      replacements.push(targets.system.killAndReplaceWorker(victim).catch(() => undefined));
    }
    const endedAt = Date.now();
    await Promise.all(replacements);
    log(`${kills} workers SIGKILLed and replaced`);
    return { startedAt, endedAt, kills };
  }
  const cutAt = Date.now();
  if (fault.kind === 'db-crash') {
    const server = targets.mariadb;
    if (!server) throw new Error('no dedicated mariadbd');
    await server.kill();
    log(`mariadbd SIGKILLed; restarting in ${spec.faultMs} ms`);
    await sleep(spec.faultMs);
    // Resolves once InnoDB has recovered and the server accepts connections again.
    const restartMs = await server.restart();
    const restoreAt = Date.now();
    log(`mariadbd accepts connections again (${restartMs} ms after its start)`);
    return { startedAt, endedAt: restoreAt, cutAt, restoreAt, restartMs };
  }
  if (fault.kind === 'cut') {
    const proxy = fault.target === 'db' ? targets.system.databaseProxy : targets.system.redisProxy;
    if (!proxy) throw new Error(`no proxy for ${fault.target}`);
    const mode = cutMode ?? fault.mode;
    proxy.cut(mode);
    log(`${fault.target} cut (${mode}) for ${spec.faultMs} ms`);
    await sleep(spec.faultMs);
    await proxy.restore();
  } else {
    const redis = targets.dedicated;
    if (!redis) throw new Error('no dedicated redis');
    await redis.kill();
    log(`redis SIGKILLed; restarting in ${spec.faultMs} ms`);
    await sleep(spec.faultMs);
    await redis.restart();
  }
  const restoreAt = Date.now();
  log('restored');
  return { startedAt, endedAt: restoreAt, cutAt, restoreAt };
}

/**
 * Stops the replica of the master that serves slot 0 and drops its replication link for
 * `stallMs` (SIGSTOP, CLIENT KILL TYPE replica), SIGKILLs that master and resumes the replica
 * at once; waits until the replica serves those slots, starts
 * the killed node again (it rejoins as the new master's replica), and waits until that
 * replica is in sync: the cluster back at full strength.
 */
async function killMaster(
  cluster: RedisCluster,
  stallMs: number,
  log: (line: string) => void,
): Promise<FailoverTimeline> {
  const before = await cluster.topology();
  const victim = before.find((n) => n.role === 'master' && n.slots.some(([a]) => a === 0));
  if (!victim) throw new Error('no master serves slot 0');
  const replica = before.find((n) => n.role === 'slave' && n.master === victim.id);
  if (!replica) throw new Error(`master ${victim.port} has no replica`);
  if (stallMs > 0) {
    // Stopped, the replica cannot reconnect; its link dropped, it gets nothing more. (A stop
    // alone would not do: the kernel keeps receiving the stream for it meanwhile.)
    cluster.pause(replica.port, true);
    await cluster.on(victim.port, 'CLIENT', 'KILL', 'TYPE', 'replica');
    log(`replica ${replica.port} of master ${victim.port} stopped and cut off for ${stallMs} ms`);
    await sleep(stallMs);
  }
  await cluster.kill(victim.port);
  const killedAt = Date.now();
  if (stallMs > 0) cluster.pause(replica.port, false);
  log(`master ${victim.port} (slots ${JSON.stringify(victim.slots)}) SIGKILLed`);
  await cluster.waitUntilHealthy(3, 0, 30_000);
  const promotedAt = Date.now();
  const promoted = (await cluster.topology()).find(
    (n) => n.role === 'master' && n.slots.some(([a]) => a === 0),
  );
  if (!promoted) throw new Error('no master serves slot 0 after the failover');
  log(
    `replica ${promoted.port} promoted after ${promotedAt - killedAt} ms; restarting ${victim.port}`,
  );
  await cluster.restart(victim.port);
  const restartedAt = Date.now();
  for (let i = 0; ; i++) {
    const info = await cluster.on<string>(promoted.port, 'INFO', 'replication').catch(() => '');
    if (/slave\d+:.*state=online/.test(info)) break;
    if (i > 300) throw new Error(`node ${victim.port} did not come back as a replica`);
    await sleep(100);
  }
  const replicaOnlineAt = Date.now();
  log(
    `node ${victim.port} is ${promoted.port}'s replica again after ${replicaOnlineAt - killedAt} ms`,
  );
  return {
    killedPort: victim.port,
    promotedPort: promoted.port,
    slots: victim.slots,
    killedAt,
    promotedAt,
    restartedAt,
    replicaOnlineAt,
  };
}

function failedResult(
  spec: ScenarioSpec,
  settings: ScenarioResult['settings'],
  startedAt: number,
  error: unknown,
  system: SystemUnderTest | undefined,
): ScenarioResult {
  const message = error instanceof Error ? error.message : String(error);
  return {
    name: spec.name,
    title: spec.title,
    passed: false,
    failures: [`the scenario could not run: ${message.split('\n')[0] ?? ''}`],
    settings,
    durationMs: Date.now() - startedAt,
    orders: {
      submitted: 0,
      accepted: 0,
      paid: 0,
      failed: 0,
      onHold: 0,
      cancelled: 0,
      lost: 0,
      gaveUp: 0,
      aliased: 0,
      refused: 0,
      notStarted: 0,
      acceptedPerSecondBefore: 0,
      acceptLatencyBefore: { p50Ms: null, p95Ms: null },
      paidPerSecondBefore: 0,
      paidPerSecondDuringFault: 0,
    },
    invariants: null,
    fault: { cutAt: null, restoreAt: null, kills: null, restartMs: null },
    failover: null,
    failFast: null,
    recovery: null,
    dbStatusCounts: {},
    answers: {},
    problems: system?.problems() ?? {},
    lostExamples: [],
    unexpectedExits: system?.unexpectedExits ?? [],
    error: message,
  };
}
