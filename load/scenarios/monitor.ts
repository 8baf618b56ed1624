import { eventLoopLagMs, ResourceSampler, type ResourceSample } from './resources';

/** A phase or wait, placed on the run's timeline (epoch ms). */
export interface Span {
  name: string;
  from: number;
  to: number;
}

/**
 * Samples the machine's processes once a second for the whole run (phases, waits and drains
 * alike), so the memory, CPU and event-loop charts share one timeline with the phase markers.
 * The API's event-loop delay is read from its /metrics each second (one scrape a second costs
 * the API about a millisecond).
 */
export class Monitor {
  readonly samples: ResourceSample[] = [];
  readonly spans: Span[] = [];
  readonly startedAt = Date.now();
  private readonly timer: NodeJS.Timeout;
  private readonly sampler: ResourceSampler;

  constructor(
    pids: () => { api: number[]; workers: number[] },
    private readonly apiUrl: () => string | undefined = () => undefined,
  ) {
    this.sampler = new ResourceSampler(pids);
    this.sampler.sample();
    void this.readLag();
    this.timer = setInterval(() => {
      const sample = this.sampler.sample();
      this.samples.push(sample);
      void this.readLag().then((lag) => {
        sample.apiLagMs = lag;
      });
    }, 1_000);
  }

  /** The API's event-loop delay since the previous read; null if it does not answer. */
  private async readLag(): Promise<ResourceSample['apiLagMs']> {
    const url = this.apiUrl();
    if (url === undefined) return null;
    try {
      const response = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(900) });
      return response.ok ? eventLoopLagMs(await response.text()) : null;
    } catch {
      return null;
    }
  }

  get latest(): ResourceSample | undefined {
    return this.samples.at(-1);
  }

  /** Runs `work` as a named span of the timeline. */
  async span<T>(name: string, work: () => Promise<T>): Promise<T> {
    const from = Date.now();
    try {
      return await work();
    } finally {
      this.spans.push({ name, from, to: Date.now() });
    }
  }

  /** Highest API resident memory seen, MiB (null when this run did not start the API). */
  peakApiRssMiB(): number | null {
    const values = this.samples.map((s) => s.apiRssMiB).filter((v): v is number => v !== null);
    return values.length === 0 ? null : Math.max(...values);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** "api 143 MiB · cpu api 97% workers 41% gen 55% db 38% redis 12%" for progress lines. */
export function resourceLine(sample: ResourceSample | undefined): string {
  if (!sample) return '';
  const pct = (value: number | null) => (value === null ? '–' : `${value}%`);
  const rss = sample.apiRssMiB === null ? '' : `api ${sample.apiRssMiB} MiB · `;
  const lag = sample.apiLagMs === null ? '' : `lag p99 ${sample.apiLagMs.p99.toFixed(0)} ms · `;
  const { cpu } = sample;
  return (
    `${rss}${lag}cpu api ${pct(cpu.api)} wrk ${pct(cpu.workers)} gen ${pct(cpu.loadGenerator)} ` +
    `db ${pct(cpu.mariadb)} redis ${pct(cpu.redis)}`
  );
}
