import path from 'node:path';
import { Redis } from 'ioredis';
import { ChildRunner, repoRoot } from './processes';

export const CHAOS_JWT_SECRET = 'chaos-secret-0123456789-0123456789-abcdef';

export interface SystemOptions {
  /** The URLs the processes get: usually the fault proxies' ports, not the real servers. */
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  workers: number;
  /** Job lock: a SIGKILLed worker's jobs are picked up again after about this long. */
  lockMs: number;
  jobAttempts: number;
  jobBackoffMs: number;
  /** Where each process's output goes (`<logDir>/api.log`, `worker-0.log`, …). */
  logDir?: string;
  /** Extra variables for every process (e.g. breaker tuning while it is being built). */
  extraEnv?: Record<string, string>;
}

/**
 * The real system as separate processes: one API (`dist/api/main.js`) and N workers
 * (`dist/workers/main.js`), configured only through their environment, as in production.
 */
export class ChaosSystem {
  private readonly workers: ChildRunner[] = [];
  /** Every worker ever started: killed ones are where many of the errors were logged. */
  private readonly everyWorker: ChildRunner[] = [];
  /** Processes that died without being asked to: crashes, or a kill from outside the run. */
  readonly unexpectedExits: string[] = [];
  private stopped = false;

  private constructor(
    private readonly options: SystemOptions,
    private readonly api: ChildRunner,
    readonly apiUrl: string,
  ) {}

  static async start(options: SystemOptions): Promise<ChaosSystem> {
    const api = spawnEntry('api', 'api/main.js', options);
    let apiUrl: string;
    try {
      const line = await api.waitForLog('api listening');
      apiUrl = `http://127.0.0.1:${String(line.port)}`;
    } catch (error) {
      await api.kill();
      throw error;
    }
    const system = new ChaosSystem(options, api, apiUrl);
    system.watch(api);
    try {
      for (let i = 0; i < options.workers; i++) {
        system.workers.push(system.spawnWorker());
      }
      await Promise.all(system.workers.map((w) => w.waitForLog('workers started')));
    } catch (error) {
      await system.stop();
      throw error;
    }
    return system;
  }

  get workerCount(): number {
    return this.workers.length;
  }

  /**
   * SIGKILLs worker `index` and starts a replacement at once. Resolves when the replacement
   * is ready; the caller may not wait, since the next kill can come before that.
   */
  async killAndReplaceWorker(index: number): Promise<void> {
    const victim = this.workers[index];
    if (!victim) throw new Error(`no worker ${index}`);
    await victim.kill();
    if (this.stopped) return;
    const replacement = this.spawnWorker();
    this.workers[index] = replacement;
    await replacement.waitForLog('workers started');
  }

  /** Warnings and errors the processes logged, by message, summed over every process. */
  problems(): Record<string, number> {
    const total = new Map<string, number>();
    for (const runner of [this.api, ...this.everyWorker]) {
      for (const [message, n] of runner.problems) {
        total.set(message, (total.get(message) ?? 0) + n);
      }
    }
    return Object.fromEntries([...total].sort((a, b) => b[1] - a[1]));
  }

  /** Stops every process: SIGTERM first, so workers finish what they hold. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.api, ...this.workers].map((p) => p.stop()));
  }

  private spawnWorker(): ChildRunner {
    const runner = spawnEntry(`worker-${this.everyWorker.length}`, 'workers/main.js', this.options);
    this.everyWorker.push(runner);
    this.watch(runner);
    return runner;
  }

  private watch(runner: ChildRunner): void {
    void runner.unexpectedExit().then((exit) => {
      if (exit !== undefined) this.unexpectedExits.push(exit);
    });
  }
}

function spawnEntry(name: string, entry: string, options: SystemOptions): ChildRunner {
  const env: Record<string, string> = {
    NODE_ENV: 'development',
    PORT: '0',
    WORKER_METRICS_PORT: '0',
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.redisPrefix,
    JWT_SECRET: CHAOS_JWT_SECRET,
    LOG_LEVEL: 'info',
    SEED_DEMO: 'false',
    WORKER_LOCK_MS: String(options.lockMs),
    JOB_ATTEMPTS: String(options.jobAttempts),
    JOB_BACKOFF_MS: String(options.jobBackoffMs),
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...options.extraEnv,
  };
  const logFile =
    options.logDir === undefined ? undefined : path.join(options.logDir, `${name}.log`);
  return new ChildRunner(
    name,
    process.execPath,
    [path.join(repoRoot(), 'dist', entry)],
    env,
    logFile,
  );
}

/** Deletes every key under `prefix:` (the system's queues and records) from a Redis. */
export async function clearRedisPrefix(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 3_000,
  });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    // SCAN visits every key once per full cycle; the bound only guards against a runaway loop.
    for (let round = 0; round < 100_000; round++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      if (keys.length > 0) deleted += await redis.unlink(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    redis.disconnect();
  }
  return deleted;
}
