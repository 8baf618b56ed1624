import type autocannon from 'autocannon';
import type { Monitor } from './monitor';
import type { KindSummary, LatencySummary, Recorder, SecondSample } from './recorder';
import type { LoadWorld } from './world';

/** The system's admission limits: `default` as shipped, `raised` so they never refuse. */
export type AdmissionMode = 'default' | 'raised';

/** How much load a scenario puts on, after the command line's overrides. */
export interface LoadSize {
  connections: number;
  /** Requests in all; null for a timed run. */
  amount: number | null;
  /** Seconds of a timed run, or the time bound of a counted one; null: the default bound. */
  durationS: number | null;
  /** Seconds of warm-up before the measured phase (its own row in the report); 0: none. */
  warmupS: number;
  /** Users the requests are spread over. */
  users: number;
  products: number;
  /** Worker processes (each runs WORKER_CONCURRENCY jobs per queue). */
  workers: number;
  /** Scenario-specific values (`--stock`, `--rate`, `--hot`). */
  stock: number | null;
  rate: number | null;
  hot: boolean;
}

/** One autocannon run. */
export interface PhaseSpec {
  name: string;
  connections: number;
  amount: number | null;
  durationS: number | null;
  /** Requests per second over every connection (autocannon's overallRate); null: as fast as possible. */
  overallRate?: number | null;
  /** What a response is counted as when a request does not say (`product`, `order`, …). */
  defaultKind: string;
  /** The request templates; they tell the recorder their kind from `onResponse`. */
  requests(recorder: Recorder): autocannon.Request[];
  /** More text for the per-second progress line. */
  progress?: () => string;
}

/** A bucket of the latency distribution chart. */
export interface LatencyBucket {
  label: string;
  count: number;
}

/** What one autocannon run measured. */
export interface PhaseResult {
  name: string;
  load: {
    connections: number;
    amount: number | null;
    durationS: number | null;
    overallRate: number | null;
  };
  /** Epoch ms. */
  startedAt: number;
  durationS: number;
  /** Completed responses, and requests sent. */
  responses: number;
  sent: number;
  /** Responses per second over the run, and 2xx per second. */
  throughput: number;
  okPerSecond: number;
  non2xx: number;
  /** Connection errors and timeouts (no answer). */
  errors: number;
  /**
   * Sent but neither answered nor failed when the phase ended: a timed phase stops with a
   * request in flight on each connection. The server may still have accepted them.
   */
  inFlightAtEnd: number;
  timeouts: number;
  statuses: Record<string, number>;
  /** Every answer, exact percentiles of every recorded latency. */
  latency: LatencySummary;
  /** 2xx answers only. */
  okLatency: LatencySummary;
  /** autocannon's own HDR histogram figures (corrected for coordinated omission under a rate). */
  autocannonLatency: {
    mean: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
    max: number;
  };
  byKind: Record<string, KindSummary>;
  histogram: LatencyBucket[];
  seconds: SecondSample[];
  raw: autocannon.Result;
}

/** A headline number of a scenario (`finalised/s`, `goodput at 2×`). */
export interface Figure {
  label: string;
  value: string;
}

/** A correctness check: any failed check fails the run (exit 1). */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** A line chart a scenario adds to the standard ones (`drain`: accepted vs finalised). */
export interface ExtraChart {
  file: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: { name: string; points: [number, number][] }[];
}

export interface ScenarioOutcome {
  phases: PhaseResult[];
  figures: Figure[];
  checks: Check[];
  charts: ExtraChart[];
  /** 202s to POST /api/orders and /api/charges: each must end final before the verdict. */
  accepted: { orders: number; charges: number };
  /** Runs once every accepted request is final (flash-sale counts its PAID orders here). */
  verify?: () => Promise<Check[]>;
}

export interface ScenarioContext {
  apiUrl: string;
  world: LoadWorld;
  size: LoadSize;
  /** Unique to the run: prefixes every Idempotency-Key. */
  runId: string;
  monitor: Monitor;
  log(line: string): void;
  runPhase(spec: PhaseSpec): Promise<PhaseResult>;
}

export type ScenarioDefaults = Pick<
  LoadSize,
  'connections' | 'amount' | 'durationS' | 'warmupS' | 'users' | 'products'
>;

/** The origin's size: 100 connections × 1,000 requests, a short warm-up, many users and products. */
export const ORIGIN_SIZE: ScenarioDefaults = {
  connections: 100,
  amount: 100_000,
  durationS: null,
  warmupS: 3,
  users: 1_000,
  products: 1_000,
};

export interface Scenario {
  name: string;
  title: string;
  /** One paragraph for the report: what it does and what it shows. */
  description: string;
  defaults: ScenarioDefaults;
  /** `raised` for every scenario but overload, which measures the protection itself. */
  admission: AdmissionMode;
  run(ctx: ScenarioContext): Promise<ScenarioOutcome>;
}
