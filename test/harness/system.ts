import path from 'node:path';
import { MigratedDatabase } from './database';
import { FaultProxy } from './fault-proxy';
import { freePort } from './ports';
import { runBuilt, type LogLine, type RunningProcess } from './process';
import { clearRedisPrefix } from './redis';

/** How the system under test is set up; see {@link SystemUnderTest}. */
export interface SystemOptions {
  /** MariaDB server (its path is ignored): the system's own database is created on it. */
  mysqlUrl: string;
  /** The database to create and migrate; dropped by `close()` unless `keep`. */
  database: string;
  /** The Redis the processes use: the shared one, or a {@link DedicatedRedis}'s. */
  redisUrl: string;
  /**
   * A Redis Cluster's seeds (`REDIS_CLUSTER_NODES`) instead of `redisUrl`. Its owner removes
   * it: `close()` deletes no keys there.
   */
  redisClusterNodes?: string;
  /** Prefix of every key the processes write; deleted by `close()` unless `keep`. */
  redisPrefix: string;
  jwtSecret: string;
  /** Put a {@link FaultProxy} between the processes and MariaDB, Redis or both. Default none. */
  proxies?: { database?: boolean; redis?: boolean };
  /** API processes (default 1) and worker processes. */
  apis?: number;
  workers: number;
  /**
   * Everything else the processes get — NODE_ENV, LOG_LEVEL, the retry policy, admission
   * limits. Nothing is inherited from this process; the system sets PORT, WORKER_METRICS_PORT,
   * DATABASE_URL, REDIS_URL, REDIS_PREFIX, JWT_SECRET and SEED_DEMO=false itself.
   */
  env: Record<string, string>;
  /** Node's flags for every process (e.g. the production heap caps). Default none. */
  nodeFlags?: readonly string[];
  /** Each process's output goes to `<logDir>/<name>.log` (and is not kept in memory). */
  logDir?: string;
  /** Keep the database and the Redis keys after `close()`, for inspection. Default false. */
  keep?: boolean;
  /** How long `stop()` lets a process shut down before SIGKILL. Default 8 s. */
  stopGraceMs?: number;
  /** How long a process may take to answer its readiness URL. Default 30 s. */
  readyTimeoutMs?: number;
}

/**
 * The system as it runs in production — N API processes (`dist/api/main.js`) and M worker
 * processes (`dist/workers/main.js`) configured only through their environment — over a
 * database and a Redis prefix of its own, optionally through fault proxies. Used by the chaos
 * suite and the load scenarios.
 *
 * Two steps, so a run can seed the database before anything reads it: {@link create} makes the
 * database and the proxies, {@link start} the processes. Readiness is polled over HTTP (`/readyz`,
 * a worker's `/healthz`), which answers at any LOG_LEVEL. Whoever creates it calls
 * {@link close}, also when something failed.
 */
export class SystemUnderTest {
  private apis: RunningProcess[] = [];
  private workers: RunningProcess[] = [];
  /** Every process ever started: killed workers are where many of the errors were logged. */
  private readonly everyProcess: RunningProcess[] = [];
  private workerSerial = 0;
  private stopped = false;
  private closed = false;
  /** Processes that died without being asked to: crashes, or a kill from outside the run. */
  readonly unexpectedExits: string[] = [];
  /** The URL of each API process, in start order. */
  readonly apiUrls: string[] = [];

  private constructor(
    private readonly options: SystemOptions,
    /** The system's database, reached directly (never through the proxy). */
    readonly database: MigratedDatabase,
    /** Between the processes and MariaDB, when asked for. */
    readonly databaseProxy: FaultProxy | undefined,
    /** Between the processes and Redis, when asked for. */
    readonly redisProxy: FaultProxy | undefined,
  ) {}

  /** Creates and migrates the database and starts the proxies; no process runs yet. */
  static async create(options: SystemOptions): Promise<SystemUnderTest> {
    const database = await MigratedDatabase.create(options.mysqlUrl, options.database);
    const proxies: FaultProxy[] = [];
    try {
      const databaseProxy = options.proxies?.database
        ? await FaultProxy.start(portOf(options.mysqlUrl, 3306))
        : undefined;
      if (databaseProxy) proxies.push(databaseProxy);
      const redisProxy = options.proxies?.redis
        ? await FaultProxy.start(portOf(options.redisUrl, 6379))
        : undefined;
      return new SystemUnderTest(options, database, databaseProxy, redisProxy);
    } catch (error) {
      await Promise.all(proxies.map((proxy) => proxy.close()));
      await database.close(options.keep ?? false);
      throw error;
    }
  }

  /** The first API's URL. */
  get apiUrl(): string {
    const url = this.apiUrls[0];
    if (url === undefined) throw new Error('the system has not been started');
    return url;
  }

  get workerCount(): number {
    return this.workers.length;
  }

  /** Starts the API and worker processes and resolves once every one of them is ready. */
  async start(): Promise<void> {
    await this.launch({ apis: true, workers: true });
  }

  /**
   * Starts the API processes alone: accepts queue up until {@link startWorkers}. What the
   * bench uses to measure an API's cost per accept with the machine to itself.
   */
  async startApis(): Promise<void> {
    await this.launch({ apis: true, workers: false });
  }

  /** Starts the worker processes after {@link startApis}. */
  async startWorkers(): Promise<void> {
    await this.launch({ apis: false, workers: true });
  }

  private async launch(parts: { apis: boolean; workers: boolean }): Promise<void> {
    if (parts.apis && this.apis.length > 0) throw new Error('the APIs are already started');
    if (parts.workers && this.workers.length > 0)
      throw new Error('the workers are already started');
    const timeoutMs = this.options.readyTimeoutMs ?? 30_000;
    const ready: Promise<void>[] = [];
    try {
      for (let i = 0; parts.apis && i < (this.options.apis ?? 1); i++) {
        const port = await freePort();
        const name = i === 0 ? 'api' : `api-${i}`;
        const api = this.spawn(name, 'api/main.js', { PORT: String(port) });
        this.apis.push(api);
        this.apiUrls.push(`http://127.0.0.1:${port}`);
        ready.push(observed(api.waitForHttp(`http://127.0.0.1:${port}/readyz`, timeoutMs)));
      }
      for (let i = 0; parts.workers && i < this.options.workers; i++) {
        const worker = this.startWorker(await freePort());
        this.workers.push(worker.process);
        ready.push(worker.ready);
      }
      await Promise.all(ready);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * SIGKILLs worker `index` and starts a replacement at once. Resolves when the replacement
   * is ready; the caller may not wait, since the next kill can come before that.
   */
  async killAndReplaceWorker(index: number): Promise<void> {
    const victim = this.workers[index];
    if (!victim) throw new Error(`no worker ${index}`);
    const port = await freePort();
    await victim.stop();
    // Nothing awaited between this check and the spawn: stop() cannot miss the replacement.
    if (this.stopped) return;
    const replacement = this.startWorker(port);
    this.workers[index] = replacement.process;
    await replacement.ready;
  }

  /** The running processes' ids, for sampling their CPU and memory. */
  pids(): { api: number[]; workers: number[] } {
    const pidOf = (p: RunningProcess) =>
      p.running && p.child.pid !== undefined ? [p.child.pid] : [];
    return { api: this.apis.flatMap(pidOf), workers: this.workers.flatMap(pidOf) };
  }

  /**
   * Warnings and errors the processes logged, by message, most frequent first: summed over
   * every process ever started, or with `byProcess` counted per process (`api warn: …`).
   */
  problems(options: { byProcess?: boolean } = {}): Record<string, number> {
    const total = new Map<string, number>();
    for (const p of this.everyProcess) {
      for (const [message, n] of p.problems) {
        const key = options.byProcess === true ? `${p.name} ${message}` : message;
        total.set(key, (total.get(key) ?? 0) + n);
      }
    }
    return Object.fromEntries([...total].sort((a, b) => b[1] - a[1]));
  }

  /** The warning and error lines of every process ever started (the first of each). */
  problemLines(): LogLine[] {
    return this.everyProcess.flatMap((p) => p.problemLines);
  }

  /** Stops every process with SIGTERM first, so workers finish what they hold; idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const grace = this.options.stopGraceMs ?? 8_000;
    await Promise.all([...this.apis, ...this.workers].map((p) => p.terminate(grace)));
  }

  /**
   * Stops the processes and the proxies; unless `keep`, deletes the Redis keys and drops the
   * database. Idempotent; every step runs even when an earlier one fails.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const keep = this.options.keep ?? false;
    const steps: (() => Promise<unknown>)[] = [
      () => this.stop(),
      ...[this.databaseProxy, this.redisProxy].map((proxy) => () => proxy?.close() ?? noop()),
      () =>
        keep || this.options.redisClusterNodes !== undefined
          ? noop()
          : clearRedisPrefix(this.options.redisUrl, this.options.redisPrefix),
      () => this.database.close(keep),
    ];
    const failures: unknown[] = [];
    for (const step of steps) await step().catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw new AggregateError(failures, 'closing the system failed');
  }

  private startWorker(port: number): { process: RunningProcess; ready: Promise<void> } {
    const worker = this.spawn(`worker-${this.workerSerial++}`, 'workers/main.js', {
      WORKER_METRICS_PORT: String(port),
    });
    // A worker serves /healthz once its queue workers are running.
    const url = `http://127.0.0.1:${port}/healthz`;
    return {
      process: worker,
      ready: observed(worker.waitForHttp(url, this.options.readyTimeoutMs)),
    };
  }

  private spawn(name: string, entry: string, env: Record<string, string>): RunningProcess {
    const { options } = this;
    const runner = runBuilt(
      entry,
      [],
      {
        ...options.env,
        DATABASE_URL: via(this.database.url, this.databaseProxy),
        REDIS_URL: via(options.redisUrl, this.redisProxy),
        REDIS_PREFIX: options.redisPrefix,
        ...(options.redisClusterNodes === undefined
          ? {}
          : { REDIS_CLUSTER_NODES: options.redisClusterNodes }),
        JWT_SECRET: options.jwtSecret,
        SEED_DEMO: 'false',
        ...env,
      },
      {
        name,
        keepOutput: false,
        ...(options.nodeFlags ? { nodeFlags: options.nodeFlags } : {}),
        ...(options.logDir ? { logFile: path.join(options.logDir, `${name}.log`) } : {}),
      },
    );
    this.everyProcess.push(runner);
    void runner.unexpectedExit().then((exit) => {
      if (exit !== undefined) this.unexpectedExits.push(exit);
    });
    return runner;
  }
}

const noop = () => Promise.resolve();

/**
 * The same promise, marked as handled: a readiness wait may fail while the others are still
 * being started, before anything awaits it; whoever awaits it later still sees the failure.
 */
function observed<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

const portOf = (url: string, fallback: number) => Number(new URL(url).port || fallback);

/** The same URL through `proxy` when there is one (credentials and path kept). */
function via(url: string, proxy: FaultProxy | undefined): string {
  if (!proxy) return url;
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}
