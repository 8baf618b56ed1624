import { z } from 'zod';

const DEV_JWT_SECRET = 'dev-only-jwt-secret-change-me-0123456789';
/** Signs order events outside production when no secret is set; `npm run dev:platform` too. */
const DEV_DATA_PLATFORM_SECRET = 'dev-only-data-platform-secret';

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Every environment variable the processes read, with its local default.
 * The contract fixes PORT, DATABASE_URL, REDIS_URL, JWT_SECRET, ADMIN_USER, ADMIN_PASSWORD,
 * LOG_LEVEL, DATA_PLATFORM_URL and DATA_PLATFORM_SECRET; the rest tune this implementation.
 */
const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: int(0, 65535).default(3000),
    DATABASE_URL: z
      .url({ protocol: /^(mysql|mariadb)$/ })
      .default('mysql://root@127.0.0.1:3306/shop'),
    /** Connections per process; sizing per process kind: docs/scale-out.md. */
    DB_POOL_MAX: int(1, 500).default(20),
    /**
     * A read replica of DATABASE_URL's database (same form). Catalog reads go to it while it
     * keeps up (REPLICA_MAX_LAG_S); balances, charges and orders never do. Unset: none.
     * docs/scale-out.md#read-replicas.
     */
    DATABASE_REPLICA_URL: z.url({ protocol: /^(mysql|mariadb)$/ }).optional(),
    /**
     * Catalog reads use the replica only while its replication lag (`Seconds_Behind_Master`,
     * whole seconds) is under this; otherwise, and while it does not answer, the primary.
     */
    REPLICA_MAX_LAG_S: int(1, 3_600).default(2),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
    /**
     * Seeds of a Redis Cluster, `host:port,host:port…`. When set, every use of Redis goes to the
     * cluster and REDIS_URL is not used (docs/scale-out.md).
     */
    REDIS_CLUSTER_NODES: z
      .string()
      .regex(
        /^[A-Za-z0-9.-]+:[0-9]{1,5}(,[A-Za-z0-9.-]+:[0-9]{1,5})*$/,
        'must be host:port,host:port…',
      )
      .optional(),
    /**
     * Partitions requests are spread over, chosen from the user id; each has its own queues and
     * records under a hash tag of its own. Default 1 on a single Redis, 16 on a cluster.
     */
    QUEUE_PARTITIONS: int(1, 256).optional(),
    /**
     * While QUEUE_PARTITIONS changes: the number before. Workers also drain that layout's queues
     * and the API still finds its requests' records (the procedure: runbooks/re-partitioning.md).
     */
    QUEUE_PARTITIONS_PREVIOUS: int(1, 256).optional(),
    /**
     * When ≥ 1, an accept answers 202 only after this many replicas acknowledged its writes
     * (Redis WAIT), else 503 SERVICE_UNAVAILABLE: a master dying then loses no accepted request.
     */
    REDIS_MIN_REPLICAS_ACK: int(0, 16).default(0),
    /** How long an accept waits for the replicas' acknowledgement. */
    REDIS_REPLICA_ACK_TIMEOUT_MS: int(1, 60_000).default(100),
    /** Prefix of every Redis key this system writes (BullMQ queues included). */
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_{}.-]{1,64}$/)
      .default('shop'),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    ADMIN_USER: z.string().min(1).default('admin'),
    /** Bull Board shows queues but offers no retry/clean/pause actions. */
    ADMIN_READ_ONLY: booleanString.default(false),
    /** Without it the admin surfaces stay closed. */
    ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
    LOG_LEVEL: z
      .enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'])
      .default('info'),
    DATA_PLATFORM_URL: z.url({ protocol: /^https?$/ }).optional(),
    DATA_PLATFORM_SECRET: z.string().min(16).optional(),
    SEED_DEMO: booleanString.default(true),
    /** Charge jobs each worker process runs at once (orders: ORDERS_IN_FLIGHT). */
    WORKER_CONCURRENCY: int(1, 256).default(8),
    /**
     * Order jobs a worker process holds at once (a job carries one order or a batch accepted
     * together); their orders are applied in batched transactions of at most this many.
     */
    ORDERS_IN_FLIGHT: int(1, 1_000).default(128),
    /**
     * How long a job's lock lasts without renewal; a worker that dies mid-job has its jobs
     * picked up again after about this long (BullMQ's stalled-job check runs as often).
     */
    WORKER_LOCK_MS: int(1_000, 600_000).default(30_000),
    /** Port of a worker process's /metrics and /healthz; 0 picks a free one. */
    WORKER_METRICS_PORT: int(0, 65535).default(9100),
    /** Attempts per charge/order job before it goes ON_HOLD (infrastructure failures only). */
    JOB_ATTEMPTS: int(1, 100).default(8),
    /** First retry delay; doubles per attempt, with jitter. */
    JOB_BACKOFF_MS: int(1, 600_000).default(1_000),
    /**
     * A worker's unit of work may take this long before it counts as failed: one job, all its
     * requests together (the group commit of its orders, or its charges' transactions).
     */
    DB_BREAKER_TIMEOUT_MS: int(100, 600_000).default(15_000),
    /** An API database read may take this long before it answers 503. */
    API_DB_TIMEOUT_MS: int(50, 60_000).default(500),
    /** Share of failed calls (in the rolling window) that opens a database breaker. */
    DB_BREAKER_ERROR_PERCENT: int(1, 100).default(50),
    /** Calls a window needs before its breaker may open at all. */
    DB_BREAKER_VOLUME: int(1, 10_000).default(5),
    /** How long an open breaker waits before letting one probe call through. */
    DB_BREAKER_RESET_MS: int(100, 600_000).default(2_000),
    /** InnoDB lock wait per statement; kept below DB_BREAKER_TIMEOUT_MS. */
    DB_LOCK_WAIT_TIMEOUT_S: int(1, 3_600).default(5),
    /** Redis command timeout on request paths: a hung Redis answers 503 after this long. */
    REDIS_COMMAND_TIMEOUT_MS: int(50, 60_000).default(500),
    /**
     * New accepts answer 503 OVERLOADED while a queue's backlog in requests (waiting + delayed
     * jobs x requests per job) exceeds this.
     */
    ADMISSION_MAX_BACKLOG: int(1, 100_000_000).default(20_000),
    /** ... or while the API's event-loop delay (p99 over the last interval) exceeds this. */
    ADMISSION_MAX_LAG_MS: int(1, 60_000).default(250),
    /**
     * ... or while this many accepts are in progress in this API process (checked at the door,
     * `api/http/in-flight-limit.ts`). About 2 × capacity × accept latency: lower refuses work the
     * process could do when Redis is slower; higher lets admitted latency grow.
     */
    ADMISSION_MAX_IN_FLIGHT: int(1, 100_000).default(256),
    /**
     * While the database is unreachable, a catalog view this API process holds is served for at
     * most this long after it was last known fresh (with an `Age` header); then 503.
     */
    CATALOG_STALE_IF_ERROR_S: int(0, 86_400).default(300),
    /**
     * Worker processes run the reconcile (every invariant check and the stuck-request count,
     * `docs/operations-reconcile.md`) every this many seconds of wall-clock time, one process at
     * a time across all of them; 0 turns the schedule off in this process.
     */
    RECONCILE_INTERVAL_S: int(0, 86_400).default(300),
    /**
     * A scheduled run checks every row once this many seconds have passed since the last run
     * that did (and while the last run found drift); the runs between check only the rows
     * written since the run before them, so their cost follows the traffic, not the history.
     * 0: every run checks every row.
     */
    RECONCILE_FULL_INTERVAL_S: int(0, 2_592_000).default(86_400),
    /**
     * An accepted request that is still not final (and not ON_HOLD) this long after its 202
     * counts as stuck: `shop_requests_stuck` and `npm run ops -- reconcile`.
     */
    STUCK_AFTER_S: int(1, 86_400).default(300),
    /** How long a graceful shutdown may take before in-flight work is abandoned. */
    SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
    /**
     * POST requests (charges, orders, cancellations) each user may send per rolling minute,
     * counted across every API process; past it, 429 RATE_LIMITED. 0: no limit. Replays do not
     * count.
     */
    RATE_LIMIT_PER_MINUTE: int(0, 1_000_000).default(0),
    /** A PAID order may be cancelled for this many hours after it was paid; then 409. */
    ORDER_CANCEL_WINDOW_H: int(0, 100_000).default(24),
  })
  .superRefine((env, ctx) => {
    if (env.DB_BREAKER_TIMEOUT_MS <= 2 * env.DB_LOCK_WAIT_TIMEOUT_S * 1_000) {
      // A transaction still waiting on a lock (it may wait twice: one retry) must not be
      // abandoned and retried beside itself.
      ctx.addIssue({
        code: 'custom',
        path: ['DB_BREAKER_TIMEOUT_MS'],
        message: 'must be above twice DB_LOCK_WAIT_TIMEOUT_S (in ms)',
      });
    }
    const tagged = env.REDIS_CLUSTER_NODES !== undefined || (env.QUEUE_PARTITIONS ?? 1) > 1;
    if (tagged && /[{}]/.test(env.REDIS_PREFIX)) {
      // The partitions and shared concerns bring their own hash tags.
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_PREFIX'],
        message: 'must not contain braces with REDIS_CLUSTER_NODES or QUEUE_PARTITIONS above 1',
      });
    }
    if (env.NODE_ENV !== 'production') return;
    if (env.JWT_SECRET === undefined) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'is required in production' });
    }
    if (env.ADMIN_PASSWORD === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_PASSWORD'],
        message: 'is required in production',
      });
    }
    if (env.DATA_PLATFORM_URL !== undefined && env.DATA_PLATFORM_SECRET === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATA_PLATFORM_SECRET'],
        message: 'is required in production when DATA_PLATFORM_URL is set',
      });
    }
  });

export type Env = z.input<typeof envSchema>;

/** Every variable the schema reads; test/deploy checks the deployment files against it. */
export const ENV_KEYS: readonly string[] = Object.freeze(Object.keys(envSchema.shape));

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly port: number;
  readonly database: {
    readonly url: string;
    readonly name: string;
    readonly poolMax: number;
    /** The read replica for catalog reads; `url` undefined when there is none. */
    readonly replica: { readonly url: string | undefined; readonly maxLagS: number };
  };
  readonly redis: {
    readonly url: string;
    readonly prefix: string;
    /** Seeds of a Redis Cluster; undefined for a single Redis at `url`. */
    readonly clusterNodes: readonly { readonly host: string; readonly port: number }[] | undefined;
    readonly partitions: number;
    /** The partition count before a change still being drained, if any. */
    readonly previousPartitions: number | undefined;
    readonly minReplicasAck: number;
    readonly replicaAckTimeoutMs: number;
  };
  readonly jwtSecret: string;
  readonly admin: {
    readonly user: string;
    readonly password: string | undefined;
    readonly readOnly: boolean;
  };
  readonly logLevel: string;
  readonly dataPlatform: { readonly url: string | undefined; readonly secret: string | undefined };
  readonly seedDemo: boolean;
  readonly worker: {
    readonly concurrency: number;
    readonly ordersInFlight: number;
    readonly metricsPort: number;
    readonly lockMs: number;
  };
  readonly jobs: { readonly attempts: number; readonly backoffMs: number };
  readonly breaker: {
    readonly workerTimeoutMs: number;
    readonly apiTimeoutMs: number;
    readonly errorPercent: number;
    readonly volume: number;
    readonly resetMs: number;
  };
  readonly lockWaitTimeoutS: number;
  readonly redisCommandTimeoutMs: number;
  readonly admission: {
    readonly maxBacklog: number;
    readonly maxLagMs: number;
    readonly maxInFlight: number;
  };
  readonly catalog: { readonly staleIfErrorS: number };
  readonly reconcile: {
    readonly intervalS: number;
    readonly fullIntervalS: number;
    readonly stuckAfterS: number;
  };
  readonly shutdownTimeoutMs: number;
  readonly rateLimitPerMinute: number;
  readonly orderCancelWindowH: number;
}

/** Raised when the environment does not describe a valid configuration. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const DATABASE_NAME = /^[A-Za-z0-9_]{1,64}$/;

/** The database name in a DATABASE_URL's path (`mysql://host/shop` → `shop`). */
function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

/**
 * Parses the environment once, at start. Nothing else reads process.env.
 * @throws ConfigError listing every invalid variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || 'env'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  const name = databaseName(e.DATABASE_URL);
  const urls = { DATABASE_URL: e.DATABASE_URL, DATABASE_REPLICA_URL: e.DATABASE_REPLICA_URL };
  const unnamed = Object.entries(urls).flatMap(([key, url]) =>
    url === undefined || DATABASE_NAME.test(databaseName(url))
      ? []
      : [`${key}: the path must name a database (letters, digits, underscore), e.g. /shop`],
  );
  if (unnamed.length > 0) throw new ConfigError(unnamed);
  const config: Config = {
    env: e.NODE_ENV,
    port: e.PORT,
    database: {
      url: e.DATABASE_URL,
      name,
      poolMax: e.DB_POOL_MAX,
      replica: { url: e.DATABASE_REPLICA_URL, maxLagS: e.REPLICA_MAX_LAG_S },
    },
    redis: {
      url: e.REDIS_URL,
      prefix: e.REDIS_PREFIX,
      clusterNodes: e.REDIS_CLUSTER_NODES?.split(',').map((seed) => {
        const [host = '', port = ''] = seed.split(':');
        return { host, port: Number(port) };
      }),
      partitions: e.QUEUE_PARTITIONS ?? (e.REDIS_CLUSTER_NODES === undefined ? 1 : 16),
      previousPartitions: e.QUEUE_PARTITIONS_PREVIOUS,
      minReplicasAck: e.REDIS_MIN_REPLICAS_ACK,
      replicaAckTimeoutMs: e.REDIS_REPLICA_ACK_TIMEOUT_MS,
    },
    jwtSecret: e.JWT_SECRET ?? DEV_JWT_SECRET,
    admin: { user: e.ADMIN_USER, password: e.ADMIN_PASSWORD, readOnly: e.ADMIN_READ_ONLY },
    logLevel: e.LOG_LEVEL,
    dataPlatform: {
      url: e.DATA_PLATFORM_URL,
      secret:
        e.DATA_PLATFORM_SECRET ??
        (e.NODE_ENV === 'production' ? undefined : DEV_DATA_PLATFORM_SECRET),
    },
    seedDemo: e.SEED_DEMO,
    worker: {
      concurrency: e.WORKER_CONCURRENCY,
      ordersInFlight: e.ORDERS_IN_FLIGHT,
      metricsPort: e.WORKER_METRICS_PORT,
      lockMs: e.WORKER_LOCK_MS,
    },
    jobs: { attempts: e.JOB_ATTEMPTS, backoffMs: e.JOB_BACKOFF_MS },
    breaker: {
      workerTimeoutMs: e.DB_BREAKER_TIMEOUT_MS,
      apiTimeoutMs: e.API_DB_TIMEOUT_MS,
      errorPercent: e.DB_BREAKER_ERROR_PERCENT,
      volume: e.DB_BREAKER_VOLUME,
      resetMs: e.DB_BREAKER_RESET_MS,
    },
    lockWaitTimeoutS: e.DB_LOCK_WAIT_TIMEOUT_S,
    redisCommandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    admission: {
      maxBacklog: e.ADMISSION_MAX_BACKLOG,
      maxLagMs: e.ADMISSION_MAX_LAG_MS,
      maxInFlight: e.ADMISSION_MAX_IN_FLIGHT,
    },
    catalog: { staleIfErrorS: e.CATALOG_STALE_IF_ERROR_S },
    reconcile: {
      intervalS: e.RECONCILE_INTERVAL_S,
      fullIntervalS: e.RECONCILE_FULL_INTERVAL_S,
      stuckAfterS: e.STUCK_AFTER_S,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    orderCancelWindowH: e.ORDER_CANCEL_WINDOW_H,
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner !== null && typeof inner === 'object') deepFreeze(inner as object);
  }
  return Object.freeze(value);
}
