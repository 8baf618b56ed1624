import type { ResourceSample } from '../scenarios/resources';
import type { PhaseResult } from '../scenarios/types';
import { barChart, lineChart, type LineSeries } from './render';
import type { RunReport } from './types';

export interface Chart {
  file: string;
  title: string;
  svg: string;
}

/** The API memory target of the issue: under 200 MiB at full load. */
export const API_RSS_TARGET_MIB = 200;

const X_LABEL = 'seconds since the scenario started';

function latencyChart(phase: PhaseResult, file: string): Chart {
  const total = phase.histogram.reduce((sum, b) => sum + b.count, 0);
  const title = `Latency distribution: ${phase.name} (${phase.responses.toLocaleString('en-US')} answers)`;
  return {
    file,
    title,
    svg: barChart({
      title,
      xLabel: `latency (ms) — p50 ${phase.latency.p50} · p95 ${phase.latency.p95} · p99 ${phase.latency.p99} · max ${phase.latency.max}`,
      yLabel: 'answers',
      bars: phase.histogram.map((bucket) => ({
        label: bucket.label,
        value: bucket.count,
        note:
          total === 0 || bucket.count === 0 ? '' : `${((bucket.count / total) * 100).toFixed(1)}%`,
      })),
    }),
  };
}

/** Every chart of a run: per-phase latency, then the run's timeline, then the scenario's own. */
export function buildCharts(report: RunReport): Chart[] {
  const t0 = report.timeline.startedAt;
  const at = (epochMs: number) => Math.round((epochMs - t0) / 100) / 10;
  const markers = report.timeline.spans.map((span) => ({ x: at(span.from), label: span.name }));
  const perSecond = (
    pick: (s: PhaseResult['seconds'][number]) => number | null,
  ): LineSeries['points'] =>
    report.phases.flatMap((phase) => [
      ...phase.seconds.map((s): [number, number | null] => [at(phase.startedAt) + s.t, pick(s)]),
      // A gap between phases instead of a line across the wait.
      [at(phase.startedAt) + (phase.seconds.at(-1)?.t ?? 0) + 0.01, null],
    ]);
  const charts: Chart[] = [];
  const single = report.phases.length === 1;
  for (const phase of report.phases) {
    charts.push(latencyChart(phase, single ? 'latency.svg' : `latency-${phase.name}.svg`));
  }
  if (report.phases.length > 0) {
    const throughputTitle = 'Throughput over time (answers per second)';
    charts.push({
      file: 'throughput.svg',
      title: throughputTitle,
      svg: lineChart({
        title: throughputTitle,
        xLabel: X_LABEL,
        yLabel: 'answers / s',
        markers,
        series: [
          { name: '2xx/s', points: perSecond((s) => s.ok) },
          { name: 'non-2xx/s', points: perSecond((s) => s.non2xx) },
          { name: 'errors/s', points: perSecond((s) => s.errors) },
        ],
      }),
    });
    const latencyTitle = 'Latency over time (per second, every answer)';
    charts.push({
      file: 'latency-over-time.svg',
      title: latencyTitle,
      svg: lineChart({
        title: latencyTitle,
        xLabel: X_LABEL,
        yLabel: 'ms',
        markers,
        series: [
          { name: 'p50', points: perSecond((s) => s.p50) },
          { name: 'p99', points: perSecond((s) => s.p99) },
        ],
      }),
    });
  }
  const samples = report.timeline.samples;
  const series = (name: string, pick: (s: ResourceSample) => number | null): LineSeries => ({
    name,
    points: samples.map((s) => [at(s.at), pick(s)]),
  });
  if (samples.some((s) => s.apiRssMiB !== null)) {
    const title = 'Resident memory (RSS)';
    charts.push({
      file: 'memory.svg',
      title,
      svg: lineChart({
        title,
        xLabel: X_LABEL,
        yLabel: 'MiB',
        markers,
        threshold: { y: API_RSS_TARGET_MIB, label: `API target < ${API_RSS_TARGET_MIB} MiB` },
        series: [series('API', (s) => s.apiRssMiB), series('workers', (s) => s.workersRssMiB)],
      }),
    });
  }
  if (samples.length > 0) {
    const title = 'CPU by process (100 % = one full core)';
    charts.push({
      file: 'cpu.svg',
      title,
      svg: lineChart({
        title,
        xLabel: X_LABEL,
        yLabel: '% of one core',
        markers,
        series: [
          series('API', (s) => s.cpu.api),
          series('workers', (s) => s.cpu.workers),
          series('load generator', (s) => s.cpu.loadGenerator),
          series('MariaDB', (s) => s.cpu.mariadb),
          series('Redis', (s) => s.cpu.redis),
        ],
      }),
    });
  }
  if (samples.some((s) => s.apiLagMs !== null)) {
    const title = "API event-loop delay (each second, from the API's /metrics)";
    charts.push({
      file: 'event-loop.svg',
      title,
      svg: lineChart({
        title,
        xLabel: X_LABEL,
        yLabel: 'ms',
        markers,
        series: [
          series('p99', (s) => s.apiLagMs?.p99 ?? null),
          series('max', (s) => s.apiLagMs?.max ?? null),
        ],
      }),
    });
  }
  for (const extra of report.charts) {
    charts.push({ file: extra.file, title: extra.title, svg: lineChart(extra) });
  }
  return charts;
}
