import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChildRunner, repoRoot } from '../chaos/processes';
import { freePort } from '../chaos/redis-server';
import { HEAP_FLAGS } from '../../shared/node-flags';

/** The system's admission limits: `default` as shipped, `raised` so they never refuse. */
export type AdmissionMode = 'default' | 'raised';

export interface LoadSystemOptions {
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  jwtSecret: string;
  workers: number;
  admission: AdmissionMode;
  /** Each process's output goes to `<logDir>/<name>.log`. */
  logDir: string;
}

const READY_TIMEOUT_MS = 30_000;

/**
 * Raised far above anything a run reaches: a scenario that measures throughput must not be
 * cut short by the protection the `overload` scenario is there to measure.
 */
const RAISED_ADMISSION = { ADMISSION_MAX_BACKLOG: '100000000', ADMISSION_MAX_LAG_MS: '60000' };

/**
 * The system as it runs in production: one API process (`dist/api/main.js`) and N worker
 * processes (`dist/workers/main.js`), configured through their environment only, logging at
 * `warn`. Readiness is polled over HTTP (`/readyz`, the workers' `/healthz`), since at `warn`
 * the processes do not log that they started.
 */
export class LoadSystem {
  private stopped = false;
  /** Processes that died without being asked to. */
  readonly unexpectedExits: string[] = [];

  private constructor(
    readonly apiUrl: string,
    private readonly api: ChildRunner,
    private readonly workers: ChildRunner[],
    readonly settings: Record<string, string>,
  ) {
    for (const runner of [api, ...workers]) {
      void runner.unexpectedExit().then((exit) => {
        if (exit !== undefined) this.unexpectedExits.push(exit);
      });
    }
  }

  static async start(options: LoadSystemOptions): Promise<LoadSystem> {
    const settings: Record<string, string> = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      REDIS_PREFIX: options.redisPrefix,
      ...(options.admission === 'raised' ? RAISED_ADMISSION : {}),
    };
    const env = {
      ...settings,
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      JWT_SECRET: options.jwtSecret,
      ADMIN_PASSWORD: randomBytes(12).toString('hex'),
      SEED_DEMO: 'false',
      SHUTDOWN_TIMEOUT_MS: '10000',
    };
    // As production runs them (npm start, the image): with the capped heap.
    const entry = (name: string) => [...HEAP_FLAGS, path.join(repoRoot(), 'dist', name)];
    const log = (name: string) => path.join(options.logDir, `${name}.log`);
    const started: ChildRunner[] = [];
    try {
      const apiPort = await freePort();
      const api = new ChildRunner(
        'api',
        process.execPath,
        entry('api/main.js'),
        { ...env, PORT: String(apiPort) },
        log('api'),
      );
      started.push(api);
      const apiUrl = `http://127.0.0.1:${apiPort}`;
      const workers: ChildRunner[] = [];
      const workerPorts: number[] = [];
      for (let i = 0; i < options.workers; i++) {
        const port = await freePort();
        const worker = new ChildRunner(
          `worker-${i}`,
          process.execPath,
          entry('workers/main.js'),
          { ...env, WORKER_METRICS_PORT: String(port) },
          log(`worker-${i}`),
        );
        started.push(worker);
        workers.push(worker);
        workerPorts.push(port);
      }
      await Promise.all([
        waitReady(api, `${apiUrl}/readyz`),
        // A worker serves /healthz once its queue workers are running.
        ...workers.map((w, i) => waitReady(w, `http://127.0.0.1:${workerPorts[i] ?? 0}/healthz`)),
      ]);
      return new LoadSystem(apiUrl, api, workers, {
        ...settings,
        workerProcesses: String(options.workers),
      });
    } catch (error) {
      await Promise.all(started.map((runner) => runner.kill()));
      throw error;
    }
  }

  pids(): { api: number[]; workers: number[] } {
    const pidOf = (runner: ChildRunner) =>
      runner.running && runner.child.pid !== undefined ? [runner.child.pid] : [];
    return { api: pidOf(this.api), workers: this.workers.flatMap(pidOf) };
  }

  /** Warnings and errors the processes logged, by message. */
  problems(): Record<string, number> {
    const total = new Map<string, number>();
    for (const runner of [this.api, ...this.workers]) {
      for (const [message, n] of runner.problems) {
        const key = `${runner.name} ${message}`;
        total.set(key, (total.get(key) ?? 0) + n);
      }
    }
    return Object.fromEntries([...total].sort((a, b) => b[1] - a[1]));
  }

  /** SIGTERM, so workers finish the jobs they hold; idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([this.api, ...this.workers].map((runner) => runner.stop(15_000)));
  }
}

async function waitReady(runner: ChildRunner, url: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (let attempt = 0; Date.now() < deadline && attempt < 1_000; attempt++) {
    if (!runner.running) {
      throw new Error(`${runner.name} exited before it was ready (see its log)`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`${runner.name} not ready within ${READY_TIMEOUT_MS} ms (${url})`);
}
