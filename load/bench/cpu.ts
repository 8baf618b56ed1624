import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU time of processes, read from `/proc/<pid>/stat`: what a unit of work costs, whoever else
 * shares the machine. Wall-clock throughput on two shared cores measures the box; CPU seconds
 * per request measure the code (load/REPORT.md, "Cost per order").
 */

/** A process's CPU time in clock ticks: its own, and that of its children it has waited for. */
export interface StatTicks {
  /** utime + stime (fields 14 and 15), every thread of the process. */
  own: number;
  /** cutime + cstime (fields 16 and 17): reaped children, e.g. a `wrk` run that has exited. */
  children: number;
}

/**
 * Parses one `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and may
 * hold spaces and parentheses itself, so the fields are counted from the last `)`.
 * @throws Error when the line does not have the fields.
 */
export function parseStat(line: string): StatTicks {
  const end = line.lastIndexOf(')');
  if (end < 0) throw new Error('not a /proc/<pid>/stat line: no command name');
  // Field 3 (state) is the first after the name; utime is field 14, i.e. index 11 here.
  const fields = line
    .slice(end + 2)
    .trim()
    .split(' ');
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  if (
    utime === undefined ||
    stime === undefined ||
    cutime === undefined ||
    cstime === undefined ||
    [utime, stime, cutime, cstime].some((n) => !Number.isInteger(n) || n < 0)
  ) {
    throw new Error('not a /proc/<pid>/stat line: fewer than 17 numeric fields');
  }
  return { own: utime + stime, children: cutime + cstime };
}

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on every mainstream kernel). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The ticks of `pid`, or undefined when it is gone. */
export function readStat(pid: number): StatTicks | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Who is counted: group name → process ids. `generator` is counted by {@link CpuMeter} itself. */
export type Groups = Record<string, readonly number[]>;

/** CPU microseconds per group over a stretch of the run. */
export type CpuUse = Record<string, number>;

interface Mark {
  ticks: Map<string, number>;
  self: StatTicks;
}

/**
 * Measures CPU time per group of processes between {@link start} and the stop function it
 * returns. Every group's processes must live through the stretch (a process that exits
 * takes its ticks with it; that is reported as an error, not silently undercounted).
 *
 * The group `generator` is this process plus the children it reaped in the stretch: autocannon
 * and the open-loop generator run in this process, `wrk` is a child that exits at its end.
 * Nothing else may be started and reaped in the stretch (memory is read from /proc, not `ps`).
 */
export class CpuMeter {
  start(groups: Groups): () => CpuUse {
    const before = this.mark(groups);
    return () => {
      const after = this.mark(groups);
      const perTick = 1e6 / clockTicksPerSecond();
      const use: CpuUse = {
        generator:
          (after.self.own - before.self.own + after.self.children - before.self.children) * perTick,
      };
      for (const [group, ticks] of after.ticks) {
        use[group] = (ticks - (before.ticks.get(group) ?? 0)) * perTick;
      }
      return use;
    };
  }

  private mark(groups: Groups): Mark {
    const ticks = new Map<string, number>();
    for (const [group, pids] of Object.entries(groups)) {
      let total = 0;
      for (const pid of pids) {
        const stat = readStat(pid);
        if (stat === undefined) throw new Error(`process ${pid} (${group}) is gone`);
        total += stat.own;
      }
      ticks.set(group, total);
    }
    const self = readStat(process.pid);
    if (self === undefined) throw new Error('cannot read /proc/self/stat');
    return { ticks, self };
  }
}

/** Resident memory of `pid` in MiB from /proc (no child process: see {@link CpuMeter}). */
export function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? 0 : Number(match[1]) / 1_024;
  } catch {
    return 0;
  }
}

/** Time a thread ran, and waited runnable for a CPU, in ns (`/proc/<pid>/schedstat`). */
export interface SchedStat {
  runNs: number;
  waitNs: number;
}

/** Parses `/proc/<pid>/schedstat`: run time, run-queue wait time (ns), timeslices. */
export function parseSchedstat(line: string): SchedStat {
  const [run, wait] = line.trim().split(/\s+/).map(Number);
  if (run === undefined || wait === undefined || Number.isNaN(run) || Number.isNaN(wait)) {
    throw new Error('not a /proc/<pid>/schedstat line');
  }
  return { runNs: run, waitNs: wait };
}

/**
 * The main thread of `pid` (where a Node process runs its JavaScript): how long it ran and how
 * long it was runnable but waiting for a CPU taken by others. Undefined when unreadable.
 */
export function readSchedstat(pid: number): SchedStat | undefined {
  try {
    return parseSchedstat(readFileSync(`/proc/${pid}/schedstat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The 1-minute load average (runnable and waiting tasks, averaged). */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}

/** Pids of the processes named `name` on this host (a shared server's). */
export function pidsNamed(name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name;
      } catch {
        return false;
      }
    });
}

/**
 * Waits until the processes `pids` are idle — under `maxShare` of one CPU over each window of
 * `windowMs` — or `timeoutMs` has passed; answers how long it waited. Called before a measured
 * stretch, so background work a server still does for the stretch before (InnoDB flushing
 * dirty pages and purging, Redis expiring keys) is billed to neither, instead of to whichever
 * stretch comes next: without it the raw SQL loop, run after the system's accepts, was billed
 * up to 40 % more MariaDB CPU per order in one run than in another.
 */
export async function settle(
  pids: readonly number[],
  options: { maxShare?: number; windowMs?: number; timeoutMs?: number } = {},
): Promise<number> {
  const { maxShare = 0.02, windowMs = 500, timeoutMs = 60_000 } = options;
  const started = performance.now();
  const ticks = () => pids.reduce((sum, pid) => sum + (readStat(pid)?.own ?? 0), 0);
  const perTickMs = 1_000 / clockTicksPerSecond();
  for (;;) {
    const before = ticks();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const busyMs = (ticks() - before) * perTickMs;
    const waited = performance.now() - started;
    const idle = busyMs <= maxShare * windowMs;
    if (waited > 2_000) {
      const line = `   servers busy with background work: waited ${(waited / 1_000).toFixed(0)} s`;
      process.stderr.write(idle || waited >= timeoutMs ? `\r${line}\n` : `\r${line}`);
    }
    if (idle || waited >= timeoutMs) return waited;
  }
}

/** `INFO commandstats` as calls and µs per command (`config|resetstat` for a subcommand). */
export function parseCommandStats(info: string): Record<string, { calls: number; usec: number }> {
  const stats: Record<string, { calls: number; usec: number }> = {};
  for (const line of info.split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (match) stats[match[1] as string] = { calls: Number(match[2]), usec: Number(match[3]) };
  }
  return stats;
}

/** Redis's CPU seconds so far, user + system of the whole server, from `INFO cpu`. */
export function parseRedisCpuSeconds(info: string): number {
  const field = (name: string) => {
    const value = new RegExp(`^${name}:([0-9.]+)\r?$`, 'm').exec(info)?.[1];
    if (value === undefined) throw new Error(`INFO cpu has no ${name}`);
    return Number(value);
  };
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** The CPU (µs, from /proc) one server process spent while `work` ran, and its wall time (ms). */
export async function serverCpuOf(
  pid: number,
  work: () => Promise<unknown>,
): Promise<{ cpuUs: number; wallMs: number }> {
  const stop = new CpuMeter().start({ server: [pid] });
  const started = performance.now();
  await work();
  const wallMs = performance.now() - started;
  return { cpuUs: stop().server ?? NaN, wallMs };
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}
