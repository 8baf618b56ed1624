import type { ClusterFigure } from './cluster';
import type { CostedRun, EndToEnd } from './cost';
import { perUnit } from './cost';
import type { GeneratorName } from './generators';
import type { OpenLoopResult } from './open-loop';
import { lineChart } from '../report/render';

const us = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '' : n < 10 ? n.toFixed(1) : n.toFixed(0);

/** An open-loop run and the CPU every process spent in it. */
export interface OpenLoopRun extends OpenLoopResult {
  name: string;
  cpu: Record<string, number>;
  /** ms per second the API's JavaScript thread was runnable but had no CPU (schedstat). */
  apiWaitMsPerS: number;
  /** The 1-minute load average over the run (mean of start and end). */
  loadAverage: number;
  /** The same generator, rate and requests against bare node:http: the floor. */
  floor: OpenLoopResult;
}

export const OPEN_DETAIL = 'API product detail (cached)';
export const OPEN_ACCEPTS = 'API order accepts, workers running';
/** The issue's latency goals at half the capacity: p99 in ms. */
const DETAIL_P99_GOAL_MS = 5;
const OPEN_GOALS: Record<string, number> = {
  [OPEN_DETAIL]: DETAIL_P99_GOAL_MS,
  [OPEN_ACCEPTS]: 10,
};

/** The fractions of product detail's capacity its p99-by-rate curve is measured at, below ½. */
export const CURVE_FRACTIONS = [0.1, 0.2, 0.3, 0.4] as const;

/** The API process's CPU over the run, as a share of one core: how busy its thread was. */
const apiBusy = (o: OpenLoopRun) =>
  `${((100 * (o.cpu.api ?? 0)) / (o.seconds * 1e6)).toFixed(0)} %`;

export function openLoopRows(open: readonly OpenLoopRun[]): string[] {
  return [
    '| open loop | offered/s | sent | 2xx | non-2xx + errors | p50 ms | p99 ms | p99.9 ms | max ms | generator late to send, p99 ms | bare node:http, same rate: p50 / p99 ms | api µs per 2xx | API busy (of one core) | API thread waiting for a CPU, ms/s | load average | goal (p99) | met |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
    ...open.map((o) => {
      const goal = OPEN_GOALS[o.name];
      const floor = `${o.floor.p50Ms.toFixed(2)} / ${o.floor.p99Ms.toFixed(2)}`;
      return `| ${o.name} (generator: open-loop, this process) | ${o.rate} | ${o.sent} | ${o.ok} | ${o.non2xx + o.errors} | ${o.p50Ms.toFixed(2)} | ${o.p99Ms.toFixed(2)} | ${o.p999Ms.toFixed(2)} | ${o.maxMs.toFixed(1)} | ${o.sendLagP99Ms.toFixed(2)} | ${floor} | ${us((o.cpu.api ?? 0) / o.ok)} | ${apiBusy(o)} | ${o.apiWaitMsPerS.toFixed(0)} | ${o.loadAverage.toFixed(1)} | ${goal === undefined ? '' : `≤ ${goal} ms`} | ${goal === undefined ? '' : o.p99Ms <= goal ? 'PASS' : 'MISS'} |`;
    }),
  ];
}

/** Product detail's open-loop runs by offered rate: the API's p99 beside bare node:http's. */
export function latencyCurveRows(curve: readonly OpenLoopRun[]): string[] {
  const goal = DETAIL_P99_GOAL_MS;
  return [
    '| offered/s | s | API p50 / p99 ms | bare node:http p50 / p99 ms | api µs per 2xx | API busy (of one core) | p99 ≤ goal |',
    '|---:|---:|---:|---:|---:|---:|:---:|',
    ...curve.map(
      (o) =>
        `| ${o.rate} | ${o.seconds.toFixed(0)} | ${o.p50Ms.toFixed(2)} / ${o.p99Ms.toFixed(2)} | ${o.floor.p50Ms.toFixed(2)} / ${o.floor.p99Ms.toFixed(2)} | ${us((o.cpu.api ?? 0) / o.ok)} | ${apiBusy(o)} | ${o.p99Ms <= goal ? 'yes' : 'no'} (≤ ${goal} ms) |`,
    ),
  ];
}

/** The curve as a chart: p99 (log scale) by offered rate, the API and bare node:http. */
export function latencyCurveChart(curve: readonly OpenLoopRun[]): string {
  return lineChart({
    title: 'Product detail, open loop: p99 by offered rate',
    xLabel: 'offered requests per second',
    yLabel: 'p99 latency (ms, log scale)',
    logY: true,
    threshold: { y: DETAIL_P99_GOAL_MS, label: `goal p99 ≤ ${DETAIL_P99_GOAL_MS} ms` },
    series: [
      { name: 'API product detail (cached)', points: curve.map((o) => [o.rate, o.p99Ms]) },
      { name: 'bare node:http, same JSON', points: curve.map((o) => [o.rate, o.floor.p99Ms]) },
    ],
  });
}

/** The system's processes: what a user pays for (the generator is not). */
export const SYSTEM = ['api', 'workers', 'redis', 'mariadb'] as const;

/** A raw SQL loop's cost: its client (this process) and MariaDB, per order. */
export interface RawSqlCost {
  label: string;
  orders: number;
  perSecond: number;
  clientUs: number;
  mariadbUs: number;
}

/** The workers draining jobs queued while they were paused: finalisation alone, per order. */
export interface DrainCost {
  label: string;
  orders: number;
  perSecond: number;
  cpu: Record<string, number>;
}

export interface CostTarget {
  figure: string;
  generator: GeneratorName | '—';
  value: number;
  detail: string;
  goal: string;
  met: boolean | undefined;
}

/** ` (503: 12, 429: 1)`, or nothing when every answer was 2xx. */
function statusList(statuses: Record<string, number>): string {
  const listed = Object.entries(statuses).map(([status, n]) => `${status}: ${String(n)}`);
  return listed.length === 0 ? '' : ` (${listed.join(', ')})`;
}

/** CPU µs per 2xx answer of every group of a run. */
export function runRows(runs: readonly CostedRun[]): string[] {
  const groups = ['api', 'workers', 'redis', 'mariadb', 'server', 'generator'];
  return [
    `| run | generator | req/s | p50 ms | p99 ms | non-2xx | errors | accepts per job | ${groups.map((g) => `${g} µs`).join(' | ')} |`,
    `|---|---|---:|---:|---:|---:|---:|---:|${groups.map(() => '---:').join('|')}|`,
    ...runs.map(
      (r) =>
        `| ${r.name} | ${r.generator} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50Ms} | ${r.p99Ms} | ${r.non2xx}${statusList(r.statuses)} | ${r.errors} | ${r.jobs ? (r.ok / r.jobs).toFixed(1) : ''} | ${groups
          .map((g) => (r.cpu[g] === undefined ? '' : us(r.cpu[g] / r.ok)))
          .join(' | ')} |`,
    ),
  ];
}

export function endToEndRows(
  e2e: readonly EndToEnd[],
  drains: readonly DrainCost[],
  raw: readonly RawSqlCost[],
): string[] {
  const cell = (cpu: Record<string, number>, units: number) =>
    [...SYSTEM.map((g) => us((cpu[g] ?? 0) / units)), us(perUnit(cpu, units, SYSTEM))].join(' | ');
  return [
    '| work, request to final | generator | requests | final (ON_HOLD) | s to final after the last accept | api µs | workers µs | redis µs | mariadb µs | system µs |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...e2e.map(
      (e) =>
        `| ${e.name} | ${e.generator} | ${e.accepted} | ${e.finalised} (${e.onHold}) | ${e.toFinalS.toFixed(1)} | ${cell(e.cpu, e.finalised)} |`,
    ),
    ...drains.map(
      (d) =>
        `| queued orders drained, ${d.label} (finalisation only, ${d.perSecond.toFixed(0)}/s) | — | ${d.orders} | ${d.orders} | | ${cell(d.cpu, d.orders)} |`,
    ),
    ...raw.map(
      (r) =>
        `| raw SQL order loop, ${r.label} (${r.perSecond.toFixed(0)}/s; client ${us(r.clientUs)} µs + MariaDB ${us(r.mariadbUs)} µs) | — | ${r.orders} | ${r.orders} | | | | | ${us(r.mariadbUs)} | ${us(r.clientUs + r.mariadbUs)} |`,
    ),
  ];
}

export function targetRows(targets: readonly CostTarget[]): string[] {
  return [
    '| figure | generator | measured | goal | met |',
    '|---|---|---:|---:|:---:|',
    ...targets.map(
      (t) =>
        `| ${t.figure} | ${t.generator} | ${Number.isNaN(t.value) ? '—' : `${t.value.toFixed(2)}×`} (${t.detail}) | ${t.goal} | ${t.met === undefined ? (Number.isNaN(t.value) ? 'not measured' : '') : t.met ? 'PASS' : 'MISS'} |`,
    ),
  ];
}

/**
 * A system's cost against a baseline's from runs that alternated: `costs` is baseline, system,
 * baseline, system, … (µs per request; NaN for a run that is missing). Every adjacent pair of
 * runs gives a ratio, system ÷ baseline, and the figure is their median: adjacent runs share the machine's state of those seconds, so
 * the median moves far less from run to run than one pair does.
 */
export function alternatedRatio(costs: readonly number[]): { median: number; ratios: number[] } {
  const ratios: number[] = [];
  for (let i = 1; i < costs.length; i++) {
    const [a, b] = [costs[i - 1] as number, costs[i] as number];
    if (Number.isNaN(a) || Number.isNaN(b)) continue;
    ratios.push(i % 2 === 1 ? b / a : a / b);
  }
  const sorted = [...ratios].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length === 0
      ? Number.NaN
      : sorted.length % 2 === 1
        ? (sorted[mid] as number)
        : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, ratios };
}

/**
 * A figure that is one cost (µs) over another: held to at most `goal`×, or printed for
 * information when there is no goal.
 */
function costRatio(
  figure: string,
  generator: GeneratorName,
  cost: number,
  baseline: number,
  goal?: number,
): CostTarget {
  const value = cost / baseline;
  return {
    figure,
    generator,
    value,
    detail: `${us(cost)} / ${us(baseline)} µs`,
    goal: goal === undefined ? '(info)' : `≤ ${goal.toFixed(goal < 1 ? 2 : 1)}×`,
    met: goal === undefined ? undefined : value <= goal,
  };
}

/**
 * A figure from alternated runs (`costs`: baseline, system, baseline, system, in `order`): the
 * median of the adjacent pairs ({@link alternatedRatio}), held to at most `goal`×.
 */
function alternatedRow(
  figure: string,
  generator: GeneratorName,
  order: string,
  costs: readonly number[],
  goal: number,
): CostTarget {
  const { median, ratios } = alternatedRatio(costs);
  return {
    figure,
    generator,
    value: median,
    detail: `median of ${ratios.length} adjacent pairs, ${order}: ${costs.map(us).join(' / ')} µs; pairs ${ratios.map((r) => `${r.toFixed(2)}×`).join(', ')}`,
    goal: `≤ ${goal.toFixed(1)}×`,
    met: median <= goal,
  };
}

/** The issue's table, one row per figure and generator. */
export function costTargets(
  generators: readonly GeneratorName[],
  runs: readonly CostedRun[],
  e2e: readonly EndToEnd[],
  raw: RawSqlCost | undefined,
  cluster: readonly ClusterFigure[],
): CostTarget[] {
  /** CPU µs of one group (the baseline's server unless told) per 2xx answer of a run. */
  const usPerAnswer = (name: string, g: GeneratorName, group = 'server') => {
    const r = runs.find((x) => x.name === name && x.generator === g);
    return r ? (r.cpu[group] ?? 0) / r.ok : Number.NaN;
  };
  // Per accept: divided by the final rows, which also count the requests still in flight
  // when the generator stopped counting (the server did accept them).
  const apiUs = (name: string, g: GeneratorName) => {
    const r = runs.find((x) => x.name === name && x.generator === g);
    const e = e2e.find((x) => x.name === name && x.generator === g);
    return r ? (r.cpu.api ?? 0) / (e?.finalised ?? r.ok) : Number.NaN;
  };
  const systemUs = (name: string, g: GeneratorName, groups: readonly string[] = SYSTEM) => {
    const e = e2e.find((x) => x.name === name && x.generator === g);
    return e ? perUnit(e.cpu, e.finalised, groups) : Number.NaN;
  };
  const toFinal = (name: string, g: GeneratorName) =>
    e2e.find((x) => x.name === name && x.generator === g)?.toFinalS ?? Number.NaN;
  const rawUs = raw ? raw.clientUs + raw.mariadbUs : Number.NaN;
  const targets: CostTarget[] = [];
  for (const g of generators) {
    // Like for like: Express runs with the machine to itself, and so does the API here, the
    // two alternated (Express, API, Express, API) like product detail and bare node:http. With
    // the workers, Redis and MariaDB busy on the same CPUs the API's figure is the box's as
    // much as the code's (load/REPORT.md, "Where it stands"); printed too, for information.
    const express = usPerAnswer(EXPRESS, g);
    targets.push(
      alternatedRow(
        'API CPU per accepted order ÷ Express CPU per hello-world request (each alone)',
        g,
        'Express / API / Express / API',
        [
          express,
          usPerAnswer(ACCEPTS_ALONE, g, 'api'),
          usPerAnswer(EXPRESS_AGAIN, g),
          usPerAnswer(ACCEPTS_ALONE_AGAIN, g, 'api'),
        ],
        1.5,
      ),
      costRatio(
        '(info) the same, the workers running on the same CPUs',
        g,
        apiUs(ACCEPTS, g),
        express,
      ),
      // The accept's floor: its HTTP exchange alone (body read and parsed, the same 202 and
      // headers), then what the API's own work (token, checks, hashes, Redis) adds to it.
      costRatio(
        "(why) bare node:http taking an order's request and answering the API's 202 ÷ Express",
        g,
        usPerAnswer(BARE_ACCEPT, g),
        express,
      ),
      costRatio(
        '(why) API CPU per accept (alone, first run) ÷ that bare accept',
        g,
        usPerAnswer(ACCEPTS_ALONE, g, 'api'),
        usPerAnswer(BARE_ACCEPT, g),
      ),
    );
    const bare = usPerAnswer(BARE, g);
    targets.push(
      alternatedRow(
        "API CPU per cached product detail ÷ bare node:http's CPU per request (same JSON)",
        g,
        'bare / API / bare / API',
        [bare, apiUs(DETAIL, g), usPerAnswer(BARE_AGAIN, g), apiUs(DETAIL_AGAIN, g)],
        1.1,
      ),
    );
    const order = systemUs(ACCEPTS, g);
    targets.push(
      costRatio(
        "(why) bare node:http sending the API's response headers ÷ bare node:http",
        g,
        usPerAnswer(BARE_HEADERS, g),
        bare,
      ),
      costRatio(
        'CPU of API + workers + Redis + MariaDB per finalised order ÷ raw SQL order loop (client + MariaDB) per order',
        g,
        order,
        rawUs,
        0.25,
      ),
      // The floors of the row above: MariaDB's own share of a finalised order, then the two
      // stores' together, whatever the API and the workers cost. At or above the goal, no cut
      // in the Node processes meets it.
      costRatio(
        "(why) MariaDB's CPU alone per finalised order ÷ raw SQL order loop",
        g,
        systemUs(ACCEPTS, g, ['mariadb']),
        rawUs,
      ),
      costRatio(
        "(why) MariaDB's and Redis's CPU alone per finalised order ÷ raw SQL order loop",
        g,
        systemUs(ACCEPTS, g, ['mariadb', 'redis']),
        rawUs,
      ),
      costRatio(
        'charges: CPU per final charge ÷ per final order (same end-to-end figure)',
        g,
        systemUs(CHARGES, g),
        order,
        1.0,
      ),
    );
    const chargeS = toFinal(CHARGES, g);
    const orderS = toFinal(ACCEPTS, g);
    targets.push({
      figure: 'charges: time to final after the last accept ÷ orders',
      generator: g,
      value: chargeS / orderS,
      detail: `${chargeS.toFixed(1)} / ${orderS.toFixed(1)} s`,
      goal: '≤ 1.0× (or both < 1 s)',
      met: chargeS <= orderS || (chargeS < 1 && orderS < 1),
    });
  }
  for (const g of generators) {
    const delivered = systemUs(DELIVERED, g);
    if (Number.isNaN(delivered)) continue;
    targets.push(
      costRatio(
        'orders with a data platform: system CPU per order until its event is delivered ÷ until PAID without one',
        g,
        delivered,
        systemUs(ACCEPTS, g),
      ),
    );
  }
  for (const c of cluster) {
    targets.push(
      costRatio(
        `cluster mode (${c.setup}): end-to-end CPU per order ÷ single Redis, 1 partition`,
        'autocannon',
        c.clusterUs,
        c.singleUs,
        1.2,
      ),
    );
  }
  if (cluster.length === 0) {
    targets.push({
      figure: 'cluster mode: end-to-end CPU per order ÷ single Redis',
      generator: '—',
      value: Number.NaN,
      detail: 'left out with --no-cluster-figure',
      goal: '≤ 1.2×',
      met: undefined,
    });
  }
  return targets;
}

export const BARE = 'bare node:http, product JSON';
export const BARE_AGAIN = 'bare node:http, product JSON (again, after the API)';
export const BARE_HEADERS = "bare node:http, product JSON with the API's response headers";
export const BARE_ACCEPT = "bare node:http, an order's body read and parsed, the API's 202";
export const EXPRESS = 'Express hello-world, product JSON';
export const EXPRESS_AGAIN = 'Express hello-world, product JSON (again, between the API alone)';
export const DETAIL = 'API product detail (cached)';
export const DETAIL_AGAIN = 'API product detail (cached), again';
export const ACCEPTS = 'API order accepts, workers running';
export const ACCEPTS_ALONE = 'API order accepts, no worker running';
export const ACCEPTS_ALONE_AGAIN = 'API order accepts, no worker running, again';
export const CHARGES = 'API charge accepts, workers running';
export const DELIVERED = 'API order accepts, every event delivered to a data platform';
