import { readdirSync, readFileSync } from 'node:fs';

/** CPU (% of one core) and resident memory of the processes that share the machine. */
export interface ResourceSample {
  /** Epoch ms. */
  at: number;
  apiRssMiB: number | null;
  workersRssMiB: number | null;
  /**
   * The API's event-loop delay over the last second (p99 and max, ms), from its own /metrics
   * (prom-client resets the histogram at each scrape); null until read or when unreadable.
   */
  apiLagMs: { p99: number; max: number } | null;
  cpu: {
    api: number | null;
    workers: number | null;
    /** This process: autocannon and the scenario. */
    loadGenerator: number;
    mariadb: number | null;
    redis: number | null;
  };
}

/** Linux reports CPU time in clock ticks; 100 per second on every mainstream kernel. */
const TICKS_PER_SECOND = 100;

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

function rssMiB(pid: number): number | undefined {
  const match = /VmRSS:\s+(\d+) kB/.exec(readProc(pid, 'status') ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]) / 1_024;
}

/** utime + stime in ticks. The command name (field 2) may hold spaces: parse after ')'. */
function cpuTicks(pid: number): number | undefined {
  const stat = readProc(pid, 'stat');
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the whole line are the 12th and 13th after the name.
  return Number(fields[11]) + Number(fields[12]);
}

/** Pids of processes whose command name is `name` (read-only scan of /proc). */
function pidsNamed(name: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  return entries
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => readProc(pid, 'comm')?.trim() === name);
}

const sum = (values: (number | undefined)[]): number | null => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
};

/**
 * Samples the API and worker processes (when this run started them), the database and Redis
 * servers found on the local host, and itself. On a machine with few cores this shows who had
 * the CPU: the load generator competes with the system it measures.
 */
export class ResourceSampler {
  private last: { at: number; ticks: Map<string, number>; self: NodeJS.CpuUsage } | undefined;
  private readonly mariadb = pidsNamed('mariadbd').concat(pidsNamed('mysqld'));
  private readonly redis = pidsNamed('redis-server');

  constructor(private readonly pids: () => { api: number[]; workers: number[] }) {}

  sample(): ResourceSample {
    const { api, workers } = this.pids();
    const groups: Record<string, number[]> = {
      api,
      workers,
      mariadb: this.mariadb,
      redis: this.redis,
    };
    const at = Date.now();
    const ticks = new Map<string, number>();
    for (const [group, pids] of Object.entries(groups)) {
      const total = sum(pids.map(cpuTicks));
      if (total !== null) ticks.set(group, total);
    }
    const self = process.cpuUsage();
    const previous = this.last;
    this.last = { at, ticks, self };
    const seconds = previous ? (at - previous.at) / 1_000 : 0;
    const percent = (group: string): number | null => {
      const now = ticks.get(group);
      const before = previous?.ticks.get(group);
      if (now === undefined || before === undefined || seconds <= 0) return null;
      return Math.round(((now - before) / TICKS_PER_SECOND / seconds) * 100);
    };
    const selfPercent =
      previous && seconds > 0
        ? Math.round(
            ((self.user + self.system - previous.self.user - previous.self.system) /
              1e6 /
              seconds) *
              100,
          )
        : 0;
    const mib = (value: number | null) => (value === null ? null : Math.round(value));
    return {
      at,
      apiRssMiB: mib(sum(api.map(rssMiB))),
      workersRssMiB: mib(sum(workers.map(rssMiB))),
      apiLagMs: null,
      cpu: {
        api: percent('api'),
        workers: percent('workers'),
        loadGenerator: selfPercent,
        mariadb: percent('mariadb'),
        redis: percent('redis'),
      },
    };
  }
}

/** p99 and max event-loop delay (ms) from a Prometheus text page of prom-client's defaults. */
export function eventLoopLagMs(metricsText: string): { p99: number; max: number } | null {
  const read = (name: string) => {
    const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(metricsText);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1_000;
  };
  const p99 = read('nodejs_eventloop_lag_p99_seconds');
  const max = read('nodejs_eventloop_lag_max_seconds');
  return p99 === undefined || max === undefined ? null : { p99, max };
}
