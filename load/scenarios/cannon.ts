import { inspect } from 'node:util';
import autocannon from 'autocannon';
import { resourceLine, type Monitor } from './monitor';
import { Recorder } from './recorder';
import type { LatencyBucket, PhaseResult, PhaseSpec } from './types';

/** A counted run that has not finished after this long is stopped (and says so). */
export const DEFAULT_BOUND_S = 600;
/** autocannon's per-request timeout: no answer within it counts as an error. */
const REQUEST_TIMEOUT_S = 10;

const BUCKET_EDGES_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000];

const ms = (value: number | null) => (value === null ? '–' : `${value.toFixed(1)} ms`);
const int = (value: number) => Math.round(value).toLocaleString('en-US');

/** The problem+json `code` of an error answer, if its body has one. */
export function problemCode(status: number, body: string): string | undefined {
  if (status < 400) return undefined;
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

const short = (edge: number) => (edge >= 1_000 ? `${edge / 1_000}k` : String(edge));

function histogram(sorted: Float64Array): LatencyBucket[] {
  const buckets: LatencyBucket[] = [];
  let lower = 0;
  let index = 0;
  for (const edge of [...BUCKET_EDGES_MS, Infinity]) {
    let count = 0;
    while (index < sorted.length && (sorted[index] ?? 0) < edge) {
      count += 1;
      index += 1;
    }
    const label = edge === Infinity ? `≥${short(lower)}` : `${short(lower)}–${short(edge)}`;
    buckets.push({ label, count });
    lower = edge;
  }
  return buckets;
}

/**
 * Runs one autocannon phase against `apiUrl`: prints a line per second (elapsed, req/s, p99,
 * non-2xx, errors and the processes' CPU and memory), stops it after its time bound even when
 * it was given an amount, and returns what it measured.
 */
export async function runPhase(
  apiUrl: string,
  spec: PhaseSpec,
  monitor: Monitor,
  log: (line: string) => void,
): Promise<PhaseResult> {
  const recorder = new Recorder(spec.defaultKind);
  // autocannon's own `requests.sent` is inflated under a rate (it pre-counts a second's
  // worth per connection), so requests are counted as the clients emit them.
  let sent = 0;
  const boundS = spec.durationS ?? DEFAULT_BOUND_S;
  const timed = spec.amount === null;
  const overallRate = spec.overallRate ?? null;
  const startedAt = Date.now();
  log(
    `phase ${spec.name}: ${spec.connections} connections, ` +
      (timed ? `${boundS} s` : `${int(spec.amount ?? 0)} requests (at most ${boundS} s)`) +
      (overallRate === null ? '' : `, ${int(overallRate)} req/s offered`),
  );
  const raw = await monitor.span(
    spec.name,
    () =>
      new Promise<autocannon.Result>((resolve, reject) => {
        const instance = autocannon(
          {
            url: apiUrl,
            connections: spec.connections,
            ...(timed ? { duration: boundS } : { amount: spec.amount ?? 0 }),
            ...(overallRate === null ? {} : { overallRate }),
            timeout: REQUEST_TIMEOUT_S,
            requests: spec.requests(recorder),
            setupClient: (client) => {
              (client as NodeJS.EventEmitter).on('request', () => {
                sent += 1;
              });
            },
          },
          (error: unknown, result) => {
            clearInterval(ticker);
            clearTimeout(bound);
            if (error) reject(error instanceof Error ? error : new Error(inspect(error)));
            else resolve(result);
          },
        );
        instance.on('response', (_client, statusCode, _bytes, responseTime) => {
          recorder.record(statusCode, responseTime);
        });
        instance.on('reqError', (error: unknown) => {
          recorder.error(error instanceof Error && error.message === 'request timed out');
        });
        const ticker = setInterval(() => {
          const s = recorder.tick();
          const extra = spec.progress?.() ?? '';
          log(
            `${spec.name} ${Math.round(s.t)}s  req/s ${int(s.responses)}  p99 ${ms(s.p99)}  ` +
              `non-2xx ${s.non2xx}  errors ${s.errors}  ${resourceLine(monitor.latest)}` +
              (extra ? `  ${extra}` : ''),
          );
        }, 1_000);
        // autocannon bounds a timed run itself; a counted one only by our timer.
        const bound = setTimeout(
          () => {
            log(`${spec.name}: time bound of ${boundS} s reached, stopping`);
            instance.stop();
          },
          (boundS + (timed ? 5 : 0)) * 1_000,
        );
      }),
  );
  const durationS = raw.duration;
  const responses = recorder.all.count;
  return {
    name: spec.name,
    load: {
      connections: spec.connections,
      amount: spec.amount,
      durationS: spec.durationS,
      overallRate,
    },
    startedAt,
    durationS,
    responses,
    sent,
    throughput: durationS > 0 ? Math.round(responses / durationS) : 0,
    okPerSecond: durationS > 0 ? Math.round(recorder.ok.count / durationS) : 0,
    non2xx: raw.non2xx,
    errors: recorder.errors,
    inFlightAtEnd: Math.max(0, sent - responses - recorder.errors),
    timeouts: recorder.timeouts,
    statuses: recorder.statuses(),
    latency: recorder.all.summary(),
    okLatency: recorder.ok.summary(),
    autocannonLatency: {
      mean: raw.latency.mean,
      p50: raw.latency.p50,
      p90: raw.latency.p90,
      p97_5: raw.latency.p97_5,
      p99: raw.latency.p99,
      max: raw.latency.max,
    },
    byKind: recorder.byKind(),
    histogram: histogram(recorder.all.sorted()),
    seconds: recorder.samples,
    raw,
  };
}
