import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';

/** The repository root, from `load/chaos` (ts-jest) as well as `dist/load/chaos` (built). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 6; depth++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`no package.json above ${__dirname}`);
}

/**
 * Where a run writes its results: `load/results/<start time>[-<name>]/` (git-ignored), the
 * time with `:` and `.` made safe for file names.
 */
export function resultsDir(startedAt: Date, name?: string): string {
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  return path.join(repoRoot(), 'load', 'results', name === undefined ? stamp : `${stamp}-${name}`);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

type LogLine = Record<string, unknown>;

/**
 * A child process whose stdout is JSON log lines (the system's logger) or plain text (redis).
 * Everything it prints goes to `logFile`; warnings and errors are also counted by message, so
 * a report can say why a scenario failed without anyone opening the logs.
 */
export class ChildRunner {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  /** `level: message` → how often it was logged (warn and error only). */
  readonly problems = new Map<string, number>();
  /** Set once we signalled it: any other exit is a crash, or someone else's kill. */
  private signalled = false;
  private readonly log: WriteStream | undefined;
  private readonly waiters = new Set<(line: LogLine | string) => void>();

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: Record<string, string>,
    logFile?: string,
  ) {
    if (logFile !== undefined) {
      mkdirSync(path.dirname(logFile), { recursive: true });
      this.log = createWriteStream(logFile, { flags: 'a' });
    }
    this.child = spawn(command, args, { cwd: repoRoot(), env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        resolve({ code, signal });
      });
      // It could not be started at all (no such binary): there will be no 'exit'.
      this.child.on('error', (error) => {
        this.log?.write(`${name}: ${error.message}\n`);
        resolve({ code: null, signal: null });
      });
    });
    // 'close' comes after the last output, which may still arrive after 'exit'.
    this.child.on('close', () => this.log?.end());
    let pending = '';
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.log?.write(chunk);
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.onLine(line);
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.log?.write(chunk);
    });
  }

  /** Resolves with a description if the process exits without us having signalled it. */
  async unexpectedExit(): Promise<string | undefined> {
    const exit = await this.exited;
    return this.signalled ? undefined : `${this.name} exited (${exit.code ?? exit.signal})`;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first line (after now) that `match` accepts; rejects on exit or timeout. */
  waitFor<T>(match: (line: LogLine | string) => T | undefined, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      const check = (line: LogLine | string) => {
        const found = match(line);
        if (found === undefined) return;
        finish();
        resolve(found);
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.name}: nothing expected logged within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      void this.exited.then((exit) => {
        if (!this.waiters.has(check)) return;
        finish();
        reject(new Error(`${this.name} exited (${exit.code ?? exit.signal}) before it was ready`));
      });
    });
  }

  /** Resolves with the first JSON log line whose message is `message`. */
  waitForLog(message: string, timeoutMs = 20_000): Promise<LogLine> {
    return this.waitFor(
      (line) => (typeof line === 'object' && line.message === message ? line : undefined),
      timeoutMs,
    );
  }

  /** SIGKILL: the process gets no chance to finish or clean up anything. */
  async kill(): Promise<Exit> {
    this.signalled = true;
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 8_000): Promise<Exit> {
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

  private onLine(text: string): void {
    let line: LogLine | string = text;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null) line = parsed as LogLine;
    } catch {
      // Plain text (redis-server, a crash trace): matched as a string.
    }
    if (typeof line === 'object' && (line.level === 'warn' || line.level === 'error')) {
      const key = `${line.level}: ${String(line.message)}`;
      this.problems.set(key, (this.problems.get(key) ?? 0) + 1);
    }
    for (const waiter of [...this.waiters]) waiter(line);
  }
}

/** Runs a built entry point (`dist/<entry>`) with Node to completion and returns its output. */
export async function runToCompletion(
  entry: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(repoRoot(), 'dist', entry), ...args], {
    cwd: repoRoot(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    // 'close', not 'exit': the output is complete only then.
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, output };
  } finally {
    clearTimeout(timer);
  }
}
