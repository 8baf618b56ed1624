import type { CutMode } from '../harness/fault-proxy';
import type { AppendFsync } from '../harness/redis';

/** What goes wrong during a scenario's fault phase. */
export type Fault =
  | { kind: 'worker-kill'; everyMs: number }
  /** `mode` unless the run overrides it (`--cut-mode`). */
  | { kind: 'cut'; target: 'db' | 'redis'; mode: CutMode }
  | { kind: 'redis-restart'; appendfsync: AppendFsync }
  /** The scenario's own mariadbd SIGKILLed, started again over its data after `faultMs`. */
  | { kind: 'db-crash' }
  /**
   * On a Redis Cluster of the scenario's own (3 masters, 3 replicas, 16 partitions): a master
   * SIGKILLed; once its replica is promoted, the killed node is started again (as a supervisor
   * would) and rejoins as the new master's replica. `acks`: REDIS_MIN_REPLICAS_ACK.
   * `replicaStallMs`: before the kill, the master's replica is stopped (SIGSTOP) and its
   * replication link dropped for that long, and it is resumed just after the kill —
   * replication behind when the master dies, which is what acknowledgements are for; 0: the
   * kill alone.
   */
  | { kind: 'redis-master-kill'; acks: number; replicaStallMs: number };

export const SCENARIO_NAMES = [
  'worker-kill',
  'db-outage',
  'db-outage-long',
  'redis-outage',
  'redis-restart',
  'db-crash',
  'redis-failover',
  'redis-failover-no-acks',
] as const;

export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface ScenarioSpec {
  name: string;
  title: string;
  fault: Fault;
  workers: number;
  /** Load before the fault, during it (`faultMs`) and after it; then clients stop ordering. */
  warmMs: number;
  faultMs: number;
  afterMs: number;
  /** How long accepted orders may take to become final once the clients stop ordering. */
  drainMs: number;
  /** Ends the drain early once no order has become final for this long (lost orders never do). */
  drainStallMs?: number;
  /** Orders started per second; 0 = as fast as `maxInFlight` submits allow. */
  ratePerSecond: number;
  maxInFlight: number;
  users: number;
  lockMs: number;
  jobAttempts: number;
  jobBackoffMs: number;
  /** ON_HOLD fails the scenario: a database outage must be waited out, not handed to operators. */
  onHoldFails: boolean;
  /**
   * Share of the orders their clients cancel (half before processing, half once PAID); the
   * verdict counts the cancellations in. Default 0.2.
   */
  cancelShare?: number;
  /**
   * Lost orders are measured, not a failure (a Redis master killed without replica acks); so
   * is an order lost yet applied, whose client was never told it was paid.
   */
  lossMeasured?: boolean;
  /** Extra environment for the system's processes. */
  env?: Record<string, string>;
}

interface Timing {
  warmMs: number;
  afterMs: number;
  drainMs: number;
  ratePerSecond: number;
  /**
   * The system's defaults in the full run. The short run's retry budget (≈0.9 s of backoff)
   * is shorter than its outages on purpose: retries alone cannot ride an outage out, so only
   * workers that stop spending attempts while a dependency is down keep jobs off ON_HOLD.
   */
  jobAttempts: number;
  jobBackoffMs: number;
}

const FULL: Timing = {
  warmMs: 5_000,
  afterMs: 10_000,
  drainMs: 180_000,
  ratePerSecond: 100,
  jobAttempts: 8,
  jobBackoffMs: 1_000,
};
const SHORT: Timing = {
  warmMs: 2_000,
  afterMs: 3_000,
  drainMs: 45_000,
  ratePerSecond: 40,
  jobAttempts: 3,
  jobBackoffMs: 300,
};

/** How long a killed master's replica lags behind before the kill (see the fault). */
const REPLICA_STALL_MS = 1_000;
/** Failover scenarios: the reconcile every 5 s; a request open 15 s after its 202 is stuck. */
const FAILOVER_RECONCILE_S = 5;
const FAILOVER_STUCK_AFTER_S = 15;

/** The chaos scenarios; `short` is the test suite's small, fast version of each. */
export function scenarioSpecs(short: boolean): ScenarioSpec[] {
  const t = short ? SHORT : FULL;
  const base = {
    workers: 2,
    warmMs: t.warmMs,
    afterMs: t.afterMs,
    drainMs: t.drainMs,
    ratePerSecond: t.ratePerSecond,
    maxInFlight: 64,
    users: 40,
    // Short locks: a killed worker's jobs are picked up again within ~2 s, not 30.
    lockMs: 2_000,
    jobAttempts: t.jobAttempts,
    jobBackoffMs: t.jobBackoffMs,
    onHoldFails: false,
  };
  const seconds = (ms: number) => `${ms / 1_000} s`;
  const dbShort = short ? 3_000 : 15_000;
  const dbLong = short ? 5_000 : 60_000;
  const redisCut = short ? 3_000 : 10_000;
  const redisDown = short ? 2_000 : 5_000;
  const dbDown = short ? 2_000 : 5_000;
  return [
    {
      ...base,
      name: 'worker-kill',
      title: 'SIGKILL a random worker every ~1.5 s, restart it',
      fault: { kind: 'worker-kill', everyMs: 1_500 },
      faultMs: short ? 4_500 : 45_000,
      ratePerSecond: short ? t.ratePerSecond : 120,
    },
    {
      ...base,
      name: 'db-outage',
      title: `Database down (connections refused) for ${seconds(dbShort)}`,
      fault: { kind: 'cut', target: 'db', mode: 'refuse' },
      faultMs: dbShort,
      onHoldFails: true,
    },
    {
      ...base,
      name: 'db-outage-long',
      title: `Database partitioned (connections hang) for ${seconds(dbLong)}`,
      fault: { kind: 'cut', target: 'db', mode: 'hang' },
      faultMs: dbLong,
      onHoldFails: true,
    },
    {
      ...base,
      name: 'redis-outage',
      title: `Redis partitioned (connections hang) for ${seconds(redisCut)}`,
      fault: { kind: 'cut', target: 'redis', mode: 'hang' },
      faultMs: redisCut,
    },
    {
      ...base,
      name: 'redis-restart',
      title: `Dedicated Redis (AOF, fsync always) SIGKILLed, restarted after ${seconds(redisDown)}`,
      fault: { kind: 'redis-restart', appendfsync: 'always' },
      faultMs: redisDown,
    },
    {
      ...base,
      name: 'db-crash',
      title: `Dedicated MariaDB SIGKILLed, restarted after ${seconds(dbDown)} (crash recovery)`,
      fault: { kind: 'db-crash' },
      faultMs: dbDown,
      // Like an outage: workers must wait it out, not spend attempts on it.
      onHoldFails: true,
    },
    ...([1, 0] as const).map((acks) => ({
      ...base,
      name: acks === 1 ? 'redis-failover' : 'redis-failover-no-acks',
      title:
        `Redis Cluster master SIGKILLed ${seconds(REPLICA_STALL_MS)} after its replica's link dropped, ` +
        `replica promoted, killed node back as its replica; REDIS_MIN_REPLICAS_ACK=${acks}`,
      fault: { kind: 'redis-master-kill', acks, replicaStallMs: REPLICA_STALL_MS } as const,
      // The fault phase lasts until the cluster has all its replicas again.
      faultMs: 0,
      // Three users per partition: every master's partitions get orders.
      users: 48,
      // Submits as fast as 32 clients can: a backlog builds, as in a flash sale, and an order
      // is only at risk while its job waits (one a worker took is applied from its payload).
      ratePerSecond: 0,
      maxInFlight: 32,
      // The scheduled reconcile on the scenario's timescale: a status record the killed master
      // took with it, of an order a worker had already applied, is published again from the
      // database, as production does STUCK_AFTER_S after the accept.
      env: {
        RECONCILE_INTERVAL_S: String(FAILOVER_RECONCILE_S),
        STUCK_AFTER_S: String(FAILOVER_STUCK_AFTER_S),
      },
      // The backlog's size depends on the machine's speed, so the drain has the usual cap.
      // Lost orders never become final: without acknowledgements the drain also ends once
      // none has become final for long enough that the reconcile would have repaired it.
      ...(acks === 0
        ? {
            drainStallMs: (FAILOVER_STUCK_AFTER_S + 3 * FAILOVER_RECONCILE_S) * 1_000,
            lossMeasured: true,
          }
        : {}),
      // Orders only: a cancellation a failing Redis master puts ON_HOLD leaves its order PAID,
      // and clients polling the order cannot tell that from one still on its way.
      cancelShare: 0,
    })),
  ];
}

/**
 * The durability measurement: one worker, clients submitting as fast as they can, the
 * dedicated Redis SIGKILLed mid-load and restarted; once per fsync policy.
 */
export function durabilitySpecs(short: boolean): ScenarioSpec[] {
  const t = short ? SHORT : FULL;
  return (['everysec', 'always'] as const).map((appendfsync) => ({
    name: `durability-${appendfsync}`,
    title: `Redis SIGKILLed under full-speed submits, appendfsync ${appendfsync}`,
    fault: { kind: 'redis-restart', appendfsync },
    workers: 1,
    // The window before the kill is where accept throughput is measured.
    warmMs: short ? 4_000 : 15_000,
    faultMs: 1_000,
    afterMs: short ? 2_000 : 5_000,
    drainMs: t.drainMs,
    ratePerSecond: 0,
    maxInFlight: 32,
    users: 40,
    lockMs: 2_000,
    jobAttempts: t.jobAttempts,
    jobBackoffMs: t.jobBackoffMs,
    onHoldFails: false,
  }));
}
