import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One JSON log line a process wrote on stdout. */
export type LogLine = Record<string, unknown> & { message?: unknown };

/**
 * A built entry point (`dist/...`) running as a real child process with exactly the given
 * environment. {@link RunningProcess.stop} kills it if a test left it running.
 */
export interface RunningProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Every stdout line that parsed as JSON, in order. */
  logs(): LogLine[];
  /** Resolves with the first log line whose message is `message`. */
  waitForLog(message: string, timeoutMs?: number): Promise<LogLine>;
  /** Resolves when the process exits; rejects after `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<Exit>;
  stop(): Promise<void>;
}

export function runBuilt(
  entry: string,
  args: string[],
  env: Record<string, string>,
): RunningProcess {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', entry), ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    pending += chunk;
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    for (const line of complete) {
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === 'object' && parsed !== null) lines.push(parsed as LogLine);
      } catch {
        // Not every line a process prints is a log line.
      }
    }
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    notify();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      notify();
    });
  });

  const describe = () => `stdout:\n${out}\nstderr:\n${err}`;

  function waitFor<T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found !== undefined) {
          finish();
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          finish();
          reject(new Error(`${entry} exited before ${what}\n${describe()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${entry}: no ${what} within ${timeoutMs} ms\n${describe()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  }

  return {
    child,
    stdout: () => out,
    stderr: () => err,
    logs: () => [...lines],
    waitForLog: (message, timeoutMs = 10_000) =>
      waitFor(() => lines.find((line) => line.message === message), `log "${message}"`, timeoutMs),
    async waitForExit(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new Error(`${entry} did not exit within ${timeoutMs} ms\n${describe()}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
