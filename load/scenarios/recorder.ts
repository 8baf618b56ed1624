import * as hdr from 'hdr-histogram-js';

/**
 * Latency percentiles in ms: p95 from an HDR histogram of every recorded value (3 significant
 * digits, microsecond units), the others exact (nearest rank over every value).
 */
export interface LatencySummary {
  count: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  p999: number | null;
  max: number | null;
}

/** One second of a phase, as the progress line and the charts show it. */
export interface SecondSample {
  /** Seconds since the phase started (end of this second). */
  t: number;
  responses: number;
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  p50: number | null;
  p99: number | null;
}

/** Counts and latencies of one kind of request (`product`, `order`, `poll`, …). */
export interface KindSummary {
  responses: number;
  ok: number;
  /** By status, error answers by status and problem code (`503 OVERLOADED`). */
  statuses: Record<string, number>;
  latency: LatencySummary;
  /** Latency of 2xx answers only. */
  okLatency: LatencySummary;
}

/** A growable list of latencies (ms); a typed array, since a run records 10⁵–10⁶ of them. */
export class LatencyLog {
  private values = new Float64Array(4_096);
  private length = 0;

  add(ms: number): void {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = ms;
  }

  get count(): number {
    return this.length;
  }

  /** Every value, sorted ascending (a copy). */
  sorted(): Float64Array {
    return this.values.slice(0, this.length).sort();
  }

  summary(): LatencySummary {
    return summarize(this.sorted());
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** Nearest-rank percentile of ascending `sorted` (`p` in 0..100). */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  const value = sorted[rank - 1];
  return value === undefined ? null : round(value);
}

/** p95 (ms) from an HDR histogram of `values` (ms), recorded in microseconds. */
export function hdrP95(values: ArrayLike<number>): number | null {
  if (values.length === 0) return null;
  const histogram = hdr.build({ numberOfSignificantValueDigits: 3, useWebAssembly: false });
  for (let i = 0; i < values.length; i++) {
    histogram.recordValue(Math.max(0, Math.round((values[i] ?? 0) * 1_000)));
  }
  const p95 = histogram.getValueAtPercentile(95) / 1_000;
  histogram.destroy();
  return round(p95);
}

export function summarize(sorted: Float64Array): LatencySummary {
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? null : round(sum / sorted.length),
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p95: hdrP95(sorted),
    p99: percentile(sorted, 99),
    p999: percentile(sorted, 99.9),
    max: sorted.length === 0 ? null : round(sorted[sorted.length - 1] ?? 0),
  };
}

class KindStats {
  responses = 0;
  ok = 0;
  readonly statuses = new Map<string, number>();
  readonly latency = new LatencyLog();
  readonly okLatency = new LatencyLog();

  summary(): KindSummary {
    return {
      responses: this.responses,
      ok: this.ok,
      statuses: Object.fromEntries([...this.statuses].sort()),
      latency: this.latency.summary(),
      okLatency: this.okLatency.summary(),
    };
  }
}

/**
 * Everything one autocannon run answered, by second and by kind of request.
 *
 * autocannon calls a request's `onResponse` (where the scenario calls {@link note} with the
 * kind of request and the problem code of an error answer) synchronously right before it
 * emits `response` with the latency (where the runner calls {@link record}), so the two are
 * joined without reaching into autocannon's clients.
 */
export class Recorder {
  readonly all = new LatencyLog();
  readonly ok = new LatencyLog();
  readonly samples: SecondSample[] = [];
  errors = 0;
  timeouts = 0;
  private readonly kinds = new Map<string, KindStats>();
  private noted: { kind: string; code: string | undefined } | undefined;
  private second = { responses: 0, ok: 0, non2xx: 0, errors: 0, latencies: new LatencyLog() };
  private readonly startedAt = performance.now();

  constructor(private readonly defaultKind: string) {}

  /** The kind of the response about to be recorded, and its problem code if it is an error. */
  note(kind: string, code: string | undefined): void {
    this.noted = { kind, code };
  }

  record(status: number, ms: number): void {
    const kind = this.noted?.kind ?? this.defaultKind;
    const label = this.noted?.code === undefined ? String(status) : `${status} ${this.noted.code}`;
    this.noted = undefined;
    const isOk = status >= 200 && status < 300;
    let stats = this.kinds.get(kind);
    if (!stats) {
      stats = new KindStats();
      this.kinds.set(kind, stats);
    }
    stats.responses += 1;
    stats.statuses.set(label, (stats.statuses.get(label) ?? 0) + 1);
    stats.latency.add(ms);
    this.all.add(ms);
    this.second.responses += 1;
    this.second.latencies.add(ms);
    if (isOk) {
      stats.ok += 1;
      stats.okLatency.add(ms);
      this.ok.add(ms);
      this.second.ok += 1;
    } else {
      this.second.non2xx += 1;
    }
  }

  error(timeout: boolean): void {
    this.errors += 1;
    if (timeout) this.timeouts += 1;
    this.second.errors += 1;
  }

  /** Closes the current second and returns it. */
  tick(): SecondSample {
    const sorted = this.second.latencies.sorted();
    const sample: SecondSample = {
      t: Math.round((performance.now() - this.startedAt) / 100) / 10,
      responses: this.second.responses,
      ok: this.second.ok,
      non2xx: this.second.non2xx,
      errors: this.second.errors,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
    };
    this.samples.push(sample);
    this.second = { responses: 0, ok: 0, non2xx: 0, errors: 0, latencies: new LatencyLog() };
    return sample;
  }

  byKind(): Record<string, KindSummary> {
    const kinds = [...this.kinds].sort((a, b) => b[1].responses - a[1].responses);
    return Object.fromEntries(kinds.map(([kind, stats]) => [kind, stats.summary()]));
  }

  /** Answers by status over every kind. */
  statuses(): Record<string, number> {
    const total = new Map<string, number>();
    for (const stats of this.kinds.values()) {
      for (const [label, n] of stats.statuses) total.set(label, (total.get(label) ?? 0) + n);
    }
    return Object.fromEntries([...total].sort());
  }
}
