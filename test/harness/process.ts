import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, openSync, closeSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from './paths';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One JSON log line a process wrote on stdout. */
export type LogLine = Record<string, unknown> & { message?: unknown };

/** Warning and error lines a process keeps ({@link RunningProcess.problemLines}). */
const KEPT_PROBLEM_LINES = 20_000;

/** How a started process is run and what is kept of its output. */
export interface StartOptions {
  /** Names the process in errors and reports. Default: the entry point or command. */
  name?: string;
  /** Exactly the environment it gets: nothing is inherited from this process. */
  env: Record<string, string>;
  /** Node's own flags, before the entry point (e.g. the production heap caps). Default none. */
  nodeFlags?: readonly string[];
  /** Everything it prints is also appended here (the folder is created). Default: no file. */
  logFile?: string;
  /**
   * Keep stdout, stderr and the parsed log lines in memory for {@link RunningProcess.stdout},
   * {@link RunningProcess.logs} and error messages. Default true; system processes of long runs
   * turn it off and write a `logFile` instead, so a run's memory does not grow with its logs.
   */
  keepOutput?: boolean;
  /**
   * With `logFile`: the process writes its stdout and stderr straight into the file, as under a
   * log shipper, instead of through a pipe to this process. For measuring what logging costs;
   * nothing can be waited for then, except over HTTP ({@link RunningProcess.waitForHttp}).
   */
  direct?: boolean;
  /**
   * The process leads a process group of its own, as a command started from a terminal does,
   * so {@link RunningProcess.signalGroup} reaches it and every child it starts, and
   * {@link RunningProcess.stop} kills them all.
   */
  ownGroup?: boolean;
}

/**
 * A child process — a built entry point (`dist/...`) or any command — whose stdout is JSON log
 * lines (the system's logger) or plain text (redis-server). Warnings and errors are counted by
 * message, so a report can say why a run failed without anyone opening the logs.
 *
 * Two ways to end it: {@link stop} (SIGKILL: nothing finishes, what tests clean up with and
 * scenarios crash a process with) and {@link terminate} (SIGTERM, then SIGKILL after a grace
 * period: a graceful shutdown, as an orchestrator does it).
 */
export class RunningProcess {
  readonly child: ChildProcess;
  readonly name: string;
  /** Resolves when it has exited (also when it could not be started at all). */
  readonly exited: Promise<Exit>;
  /** Resolves once its output is complete too ('close' comes after the last of it). */
  readonly closed: Promise<void>;
  /** `level: message` → how often it was logged (warn and error only). */
  readonly problems = new Map<string, number>();
  /**
   * The warning and error lines themselves, kept even when output is not, up to
   * {@link KEPT_PROBLEM_LINES} (the first ones): a failed run can say what was logged about
   * the requests it lost.
   */
  readonly problemLines: LogLine[] = [];
  private out = '';
  private err = '';
  private all = '';
  private readonly lines: LogLine[] = [];
  private readonly keep: boolean;
  private readonly ownGroup: boolean;
  private readonly logFile: string | undefined;
  private readonly log: WriteStream | undefined;
  private readonly waiters = new Set<(line: LogLine | string | undefined) => void>();
  /** Set once we signalled it: any other exit is a crash, or someone else's kill. */
  private signalled = false;

  constructor(command: string, args: readonly string[], options: StartOptions) {
    this.name = options.name ?? command;
    this.keep = options.keepOutput ?? true;
    this.ownGroup = options.ownGroup ?? false;
    const { logFile } = options;
    this.logFile = logFile;
    if (logFile !== undefined) mkdirSync(path.dirname(logFile), { recursive: true });
    const direct = logFile !== undefined && options.direct === true ? openSync(logFile, 'a') : null;
    this.child = spawn(command, args, {
      cwd: repoRoot(),
      env: options.env,
      stdio: direct === null ? ['ignore', 'pipe', 'pipe'] : ['ignore', direct, direct],
      detached: this.ownGroup,
    });
    if (direct !== null) {
      // The child holds its own copy of the descriptor.
      closeSync(direct);
    } else if (logFile !== undefined) {
      this.log = createWriteStream(logFile, { flags: 'a' });
    }
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        resolve({ code, signal });
        this.notify(undefined);
      });
      // It could not be started at all (no such binary): there will be no 'exit'.
      this.child.on('error', (error) => {
        this.log?.write(`${this.name}: ${error.message}\n`);
        this.err += `${error.message}\n`;
        resolve({ code: null, signal: null });
        this.notify(undefined);
      });
    });
    // 'close' comes after the last output, which may still arrive after 'exit'.
    this.closed = new Promise((resolve) => {
      this.child.on('close', () => {
        this.log?.end();
        resolve();
      });
      this.child.on('error', () => {
        resolve();
      });
    });
    let pending = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.log?.write(chunk);
      if (this.keep) {
        this.out += chunk;
        this.all += chunk;
      }
      pending += chunk;
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const line of complete) this.onLine(line);
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.log?.write(chunk);
      if (this.keep) {
        this.err += chunk;
        this.all += chunk;
      }
      this.notify(undefined);
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What it printed on stdout (empty unless output is kept). */
  stdout(): string {
    return this.out;
  }

  stderr(): string {
    return this.err;
  }

  /** stdout and stderr interleaved as they arrived. */
  output(): string {
    return this.all;
  }

  /** Every stdout line that parsed as JSON, in order (empty unless output is kept). */
  logs(): LogLine[] {
    return [...this.lines];
  }

  /**
   * Resolves with the first line `match` accepts: among the lines kept so far, then as they
   * come. Rejects when the process exits first or after `timeoutMs`.
   */
  waitFor<T>(
    match: (line: LogLine | string) => T | undefined,
    what: string,
    timeoutMs: number,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = (line: LogLine | string | undefined) => {
        const found = line === undefined ? undefined : match(line);
        if (found !== undefined) {
          finish();
          resolve(found);
        } else if (!this.running) {
          finish();
          reject(new Error(`${this.name} exited before ${what}${this.describe()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms${this.describe()}`));
      }, timeoutMs);
      this.waiters.add(check);
      for (const line of this.lines) {
        if (!this.waiters.has(check)) return;
        check(line);
      }
      if (this.waiters.has(check) && !this.running) check(undefined);
    });
  }

  /** Resolves with the first JSON log line whose message is `message`. */
  waitForLog(message: string, timeoutMs = 10_000): Promise<LogLine> {
    return this.waitFor(
      (line) => (typeof line === 'object' && line.message === message ? line : undefined),
      `log "${message}"`,
      timeoutMs,
    );
  }

  /** Polls `url` until it answers 2xx; rejects if the process exits first or after `timeoutMs`. */
  async waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; Date.now() < deadline && attempt < 10_000; attempt++) {
      if (!this.running) throw new Error(`${this.name} exited before ${url} answered`);
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
        await response.body?.cancel();
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await sleep(100);
    }
    throw new Error(`${this.name}: ${url} did not answer 2xx within ${timeoutMs} ms`);
  }

  /** Resolves when the process exits; rejects after `timeoutMs` (and leaves it running). */
  async waitForExit(timeoutMs = 10_000): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`${this.name} did not exit within ${timeoutMs} ms${this.describe()}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves with a description if the process exits without us having signalled it. */
  async unexpectedExit(): Promise<string | undefined> {
    const exit = await this.exited;
    return this.signalled ? undefined : `${this.name} exited (${exit.code ?? exit.signal})`;
  }

  /**
   * SIGKILL, and wait for the exit: the process gets no chance to finish anything. With
   * `ownGroup`, every process left in its group is killed too.
   */
  async stop(): Promise<void> {
    this.signalled = true;
    if (this.ownGroup) this.killGroup('SIGKILL');
    else if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** With `ownGroup`: `signal` to every process of the group at once, as a terminal's Ctrl-C. */
  signalGroup(signal: NodeJS.Signals): void {
    if (!this.ownGroup) throw new Error(`${this.name} was not started with ownGroup`);
    this.signalled = true;
    this.killGroup(signal);
  }

  private killGroup(signal: NodeJS.Signals): void {
    const { pid } = this.child;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // The group has no process left.
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async terminate(graceMs = 8_000): Promise<Exit> {
    this.signalled = true;
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private describe(): string {
    if (!this.keep) return this.logFile === undefined ? '' : ` (see ${this.logFile})`;
    return `\nstdout:\n${this.out}\nstderr:\n${this.err}`;
  }

  private onLine(text: string): void {
    let line: LogLine | string = text;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) line = parsed as LogLine;
    } catch {
      // Plain text (redis-server, a crash trace): matched as a string.
    }
    if (typeof line === 'object') {
      if (this.keep) this.lines.push(line);
      if (line.level === 'warn' || line.level === 'error') {
        const key = `${line.level}: ${String(line.message)}`;
        this.problems.set(key, (this.problems.get(key) ?? 0) + 1);
        if (this.problemLines.length < KEPT_PROBLEM_LINES) this.problemLines.push(line);
      }
    }
    this.notify(line);
  }

  private notify(line: LogLine | string | undefined): void {
    for (const waiter of [...this.waiters]) waiter(line);
  }
}

/** The path of a built entry point: `dist/<entry>` (e.g. `api/main.js`). */
export function builtEntry(entry: string): string {
  return path.join(repoRoot(), 'dist', entry);
}

/** Starts a built entry point (`dist/<entry>`) with Node and exactly the given environment. */
export function runBuilt(
  entry: string,
  args: string[],
  env: Record<string, string>,
  options: Omit<StartOptions, 'env'> = {},
): RunningProcess {
  return new RunningProcess(
    process.execPath,
    [...(options.nodeFlags ?? []), builtEntry(entry), ...args],
    { name: entry, ...options, env },
  );
}

/**
 * Runs a built entry point to completion (a CLI: migrate, reconcile) and returns its exit
 * code and its output; SIGKILLs it after `timeoutMs`.
 */
export async function runToCompletion(
  entry: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  const proc = runBuilt(entry, args, env);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  try {
    const exit = await proc.exited;
    await proc.closed;
    return { code: exit.code, output: proc.output() };
  } finally {
    clearTimeout(timer);
  }
}
