import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports';
import { RunningProcess } from './process';

/** Redis's AOF fsync policy: `always` fsyncs before answering, `everysec` once a second. */
export type AppendFsync = 'always' | 'everysec';

/**
 * A Redis of our own with AOF persistence in a temporary directory, so a scenario may SIGKILL
 * it and start it again over the same data without touching the shared Redis.
 */
export class DedicatedRedis {
  private runner: RunningProcess | undefined;
  private restarts = 0;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly appendfsync: AppendFsync,
    private readonly logFile: string | undefined,
    private readonly extraArgs: readonly string[],
  ) {}

  static async start(options: {
    appendfsync: AppendFsync;
    binary?: string;
    logFile?: string;
    /** More server arguments, after ours (`--rename-command INFO ""`). */
    args?: readonly string[];
  }): Promise<DedicatedRedis> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shop-chaos-redis-'));
    const redis = new DedicatedRedis(
      await freePort(),
      dir,
      options.appendfsync,
      options.logFile,
      options.args ?? [],
    );
    try {
      await redis.launch(options.binary ?? '/usr/bin/redis-server');
    } catch (error) {
      await redis.destroy();
      throw error;
    }
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The server's process id while it runs (the bench reads its CPU time from /proc). */
  get pid(): number | undefined {
    return this.runner?.running === true ? this.runner.child.pid : undefined;
  }

  /** SIGKILL: whatever Redis had acknowledged but not yet written to the AOF is gone. */
  async kill(): Promise<void> {
    await this.runner?.stop();
  }

  /** Starts it again on the same port over the same directory (it replays the AOF). */
  async restart(binary = '/usr/bin/redis-server'): Promise<void> {
    if (this.runner?.running === true) throw new Error('redis is still running');
    this.restarts += 1;
    await this.launch(binary);
  }

  /** Stops it and deletes its data directory. */
  async destroy(): Promise<void> {
    await this.runner?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(binary: string): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      this.appendfsync,
      '--save',
      '',
      // BullMQ's requirement: evicting queue keys would silently drop accepted work.
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'no',
      ...this.extraArgs,
    ];
    this.runner = new RunningProcess(binary, args, {
      name: `redis-server:${this.port}#${this.restarts}`,
      env: {},
      keepOutput: false,
      ...(this.logFile === undefined ? {} : { logFile: this.logFile }),
    });
    // Printed once the AOF is loaded, so no client ever sees a half-loaded dataset.
    await this.runner.waitFor(
      (line) =>
        typeof line === 'string' && line.includes('Ready to accept connections') ? true : undefined,
      '"Ready to accept connections"',
      30_000,
    );
  }
}

/** Deletes every key under `prefix:` (a system's queues and records) from a Redis. */
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
