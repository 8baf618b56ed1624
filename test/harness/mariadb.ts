import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { freePort } from './ports';
import { RunningProcess } from './process';

/** Where the Debian packages put the server and its installer. */
const MARIADBD = '/usr/sbin/mariadbd';
const INSTALL_DB = '/usr/bin/mariadb-install-db';

/** Small enough to start in about a second; the same at install and at every start. */
const INNODB_LOG = '--innodb-log-file-size=16M';
/** The buffer pool at install, and at a start unless `bufferPoolMiB` says otherwise. */
const BUFFER_POOL_MIB = 64;
/** mariadbd refuses to run as root unless told to (containers and CI often are root). */
const AS_ROOT = process.getuid?.() === 0 ? ['--user=root'] : [];

/**
 * Creates a fresh data directory (system tables, a root without password over TCP) with
 * `mariadb-install-db`. About a second or two; {@link ReplicatedMariaDb} copies one instead of
 * installing twice.
 */
export async function installDataDir(datadir: string): Promise<void> {
  const install = new RunningProcess(
    INSTALL_DB,
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...AS_ROOT,
      `--innodb-buffer-pool-size=${String(BUFFER_POOL_MIB)}M`,
      INNODB_LOG,
    ],
    { name: 'mariadb-install-db', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } },
  );
  const exit = await install.waitForExit(120_000);
  if (exit.code !== 0) throw new Error(`mariadb-install-db failed:\n${install.output()}`);
}

export interface DedicatedMariaDbOptions {
  /** Unique per server of a replication topology. */
  serverId: number;
  /** Start from a copy of this data directory instead of installing one. */
  copyDataFrom?: string;
  /** The server's error log goes here (default: `error.log` in its own folder). */
  logFile?: string;
  /**
   * InnoDB's buffer pool in MiB (default 64, enough for a test's rows). A benchmark that fills
   * the tables with hundreds of thousands of orders gives it room for them, as a production
   * server holds its working set: otherwise its figures measure page reads, not the work.
   */
  bufferPoolMiB?: number;
}

/**
 * A MariaDB server of our own: its own folder under the system's temporary directory (data,
 * socket, error log), a free loopback port, root without password, the binary log on (GTID
 * strict mode, row format), InnoDB's durable defaults. A scenario may SIGKILL it and start it
 * again over the same data directory (crash recovery), or make it a replica. Whoever starts
 * it calls {@link destroy}, which also removes its folder.
 */
export class DedicatedMariaDb {
  private runner: RunningProcess | undefined;
  private starts = 0;

  private constructor(
    readonly port: number,
    /** Its own folder: `data/`, the socket, the pid file, the error log. */
    readonly dir: string,
    readonly serverId: number,
    private readonly logFile: string,
    private readonly bufferPoolMiB: number,
  ) {}

  static async start(options: DedicatedMariaDbOptions): Promise<DedicatedMariaDb> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shop-mariadb-'));
    const server = new DedicatedMariaDb(
      await freePort(),
      dir,
      options.serverId,
      options.logFile ?? path.join(dir, 'error.log'),
      options.bufferPoolMiB ?? BUFFER_POOL_MIB,
    );
    try {
      if (options.copyDataFrom === undefined) await installDataDir(server.datadir);
      else cpSync(options.copyDataFrom, server.datadir, { recursive: true });
      await server.launch();
    } catch (error) {
      await server.destroy();
      throw error;
    }
    return server;
  }

  get datadir(): string {
    return path.join(this.dir, 'data');
  }

  get running(): boolean {
    return this.runner?.running === true;
  }

  /** The server's process id while it runs (the bench reads its CPU time from /proc). */
  get pid(): number | undefined {
    return this.runner?.running === true ? this.runner.child.pid : undefined;
  }

  /** `mysql://root@127.0.0.1:<port>/<database>` (no database: the server part only). */
  url(database = ''): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`;
  }

  /** Runs one statement on a connection of its own (so it works across kills and restarts). */
  async query<T = mysql.RowDataPacket[]>(sql: string, values: unknown[] = []): Promise<T> {
    const connection = await mysql.createConnection({
      uri: this.url(),
      connectTimeout: 5_000,
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: false,
      multipleStatements: true,
    });
    try {
      const [rows] = await connection.query(sql, values);
      return rows as T;
    } finally {
      await connection.end().catch(() => undefined);
    }
  }

  /** SIGKILL: no shutdown, no flush; InnoDB recovers from its redo log at the next start. */
  async kill(): Promise<void> {
    await this.runner?.stop();
  }

  /**
   * Starts it again over the same data directory and port; resolves once it accepts
   * connections (crash recovery done), with how long that took.
   */
  async restart(): Promise<number> {
    if (this.running) throw new Error('mariadbd is still running');
    const startedAt = Date.now();
    await this.launch();
    return Date.now() - startedAt;
  }

  /** Kills it and removes its folder; idempotent. */
  async destroy(): Promise<void> {
    await this.runner?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    this.starts += 1;
    const runner = new RunningProcess(
      MARIADBD,
      [
        '--no-defaults',
        ...AS_ROOT,
        `--datadir=${this.datadir}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        `--socket=${path.join(this.dir, 'mysqld.sock')}`,
        `--pid-file=${path.join(this.dir, 'mysqld.pid')}`,
        `--log-error=${this.logFile}`,
        `--server-id=${this.serverId}`,
        '--log-bin=binlog',
        '--relay-log=relay-bin',
        '--binlog-format=ROW',
        '--gtid-strict-mode=1',
        '--skip-name-resolve',
        '--max-connections=500',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_unicode_ci',
        INNODB_LOG,
        `--innodb-buffer-pool-size=${String(this.bufferPoolMiB)}M`,
      ],
      { name: `mariadbd:${this.port}#${this.starts}`, env: {}, keepOutput: false },
    );
    this.runner = runner;
    await this.waitUntilAccepting(runner, 120_000);
  }

  /** Polls a connection until one succeeds; fails if the server exits or after `timeoutMs`. */
  private async waitUntilAccepting(runner: RunningProcess, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; Date.now() < deadline && attempt < 100_000; attempt++) {
      if (!runner.running) {
        throw new Error(`mariadbd exited before accepting connections:\n${this.errorLogTail()}`);
      }
      try {
        await this.query('SELECT 1');
        return;
      } catch {
        await sleep(50);
      }
    }
    throw new Error(`mariadbd did not accept connections within ${timeoutMs} ms`);
  }

  private errorLogTail(): string {
    if (!existsSync(this.logFile)) return '(no error log)';
    return readFileSync(this.logFile, 'utf8').split('\n').slice(-20).join('\n');
  }
}

/**
 * A primary and a replica of it, each a {@link DedicatedMariaDb}, replicating with GTID from
 * the primary's first transaction (`MASTER_USE_GTID=slave_pos`). The replica retries a lost
 * link every second. {@link destroy} stops and removes both.
 */
export class ReplicatedMariaDb {
  private constructor(
    readonly primary: DedicatedMariaDb,
    readonly replica: DedicatedMariaDb,
  ) {}

  static async start(): Promise<ReplicatedMariaDb> {
    const template = mkdtempSync(path.join(os.tmpdir(), 'shop-mariadb-template-'));
    const started: DedicatedMariaDb[] = [];
    try {
      const datadir = path.join(template, 'data');
      await installDataDir(datadir);
      // Two copies of one fresh install: same system tables, nothing in either binary log.
      const [primary, replica] = await Promise.all(
        [1, 2].map(async (serverId) => {
          const server = await DedicatedMariaDb.start({ serverId, copyDataFrom: datadir });
          started.push(server);
          return server;
        }),
      );
      if (!primary || !replica) throw new Error('unreachable: two servers were started');
      const pair = new ReplicatedMariaDb(primary, replica);
      await replica.query(
        `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${primary.port},
           MASTER_USER = 'root', MASTER_PASSWORD = '', MASTER_USE_GTID = slave_pos,
           MASTER_CONNECT_RETRY = 1`,
      );
      await pair.startReplication();
      return pair;
    } catch (error) {
      await Promise.all(started.map((server) => server.destroy()));
      throw error;
    } finally {
      rmSync(template, { recursive: true, force: true });
    }
  }

  /** `STOP SLAVE` on the replica: both threads stop, its lag becomes unknown (NULL). */
  async stopReplication(): Promise<void> {
    await this.replica.query('STOP SLAVE');
  }

  async startReplication(): Promise<void> {
    await this.replica.query('START SLAVE');
  }

  /** Resolves once the replica has applied everything the primary has committed so far. */
  async caughtUp(timeoutS = 30): Promise<void> {
    const [position] = await this.primary.query<{ pos: string }[]>(
      'SELECT @@gtid_binlog_pos AS pos',
    );
    const [waited] = await this.replica.query<{ result: number | null }[]>(
      'SELECT MASTER_GTID_WAIT(?, ?) AS result',
      [position?.pos ?? '', timeoutS],
    );
    if (waited?.result !== 0) {
      throw new Error(`the replica did not reach ${position?.pos ?? '?'} within ${timeoutS} s`);
    }
  }

  /**
   * Runs `sql` on the replica alone (`sql_log_bin = 0`: no GTID of its own, so replication
   * goes on): for tests that make the replica differ from the primary on purpose.
   */
  async writeOnReplicaOnly(sql: string, values: unknown[] = []): Promise<void> {
    await this.replica.query(`SET SESSION sql_log_bin = 0; ${sql}`, values);
  }

  async destroy(): Promise<void> {
    await Promise.all([this.replica.destroy(), this.primary.destroy()]);
  }
}
