import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ChildRunner } from './processes';

/** Redis's AOF fsync policy: `always` fsyncs before answering, `everysec` once a second. */
export type AppendFsync = 'always' | 'everysec';

/** A free loopback port: bound, read and released (the caller binds it right after). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/**
 * A Redis of our own with AOF persistence in a temporary directory, so a scenario may SIGKILL
 * it and start it again over the same data without touching the shared Redis.
 */
export class DedicatedRedis {
  private runner: ChildRunner | undefined;
  private restarts = 0;

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly appendfsync: AppendFsync,
    private readonly logFile: string | undefined,
  ) {}

  static async start(options: {
    appendfsync: AppendFsync;
    binary?: string;
    logFile?: string;
  }): Promise<DedicatedRedis> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shop-chaos-redis-'));
    const redis = new DedicatedRedis(await freePort(), dir, options.appendfsync, options.logFile);
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

  /** SIGKILL: whatever Redis had acknowledged but not yet written to the AOF is gone. */
  async kill(): Promise<void> {
    await this.runner?.kill();
  }

  /** Starts it again on the same port over the same directory (it replays the AOF). */
  async restart(binary = '/usr/bin/redis-server'): Promise<void> {
    if (this.runner?.running === true) throw new Error('redis is still running');
    this.restarts += 1;
    await this.launch(binary);
  }

  /** Stops it and deletes its data directory. */
  async destroy(): Promise<void> {
    await this.runner?.kill();
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
    ];
    this.runner = new ChildRunner(
      `redis-server:${this.port}#${this.restarts}`,
      binary,
      args,
      {},
      this.logFile,
    );
    // Printed once the AOF is loaded, so no client ever sees a half-loaded dataset.
    await this.runner.waitFor(
      (line) =>
        typeof line === 'string' && line.includes('Ready to accept connections') ? true : undefined,
      30_000,
    );
  }
}
