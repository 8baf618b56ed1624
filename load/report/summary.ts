import type { LatencySummary } from '../scenarios/recorder';
import type { ResourceSample } from '../scenarios/resources';
import type { PhaseResult } from '../scenarios/types';
import { API_RSS_TARGET_MIB, type Chart } from './charts';
import type { Block } from './document';
import type { RunReport } from './types';

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number | null) => (value === null ? '—' : String(value));

function loadCell(phase: PhaseResult): string {
  const { load } = phase;
  const size = load.amount === null ? `${load.durationS ?? '?'} s` : `${int(load.amount)} requests`;
  const rate = load.overallRate === null ? '' : ` at ${int(load.overallRate)}/s`;
  return `${load.connections} × ${size}${rate}`;
}

/** The headline table: one row per phase. */
export function resultsTable(phases: PhaseResult[]): Block {
  return {
    kind: 'table',
    head: [
      'phase',
      'load',
      'answers',
      'time (s)',
      'req/s',
      '2xx/s',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      'non-2xx',
      'errors',
    ],
    rows: phases.map((p) => [
      p.name,
      loadCell(p),
      int(p.responses),
      p.durationS.toFixed(1),
      int(p.throughput),
      int(p.okPerSecond),
      ms(p.latency.p50),
      ms(p.latency.p95),
      ms(p.latency.p99),
      ms(p.latency.max),
      int(p.non2xx),
      p.timeouts > 0 ? `${int(p.errors)} (${int(p.timeouts)} timeouts)` : int(p.errors),
    ]),
  };
}

const latencyCells = (l: LatencySummary) => [ms(l.p50), ms(l.p95), ms(l.p99), ms(l.max)];

function kindsTable(phases: PhaseResult[]): Block {
  const rows = phases.flatMap((p) =>
    Object.entries(p.byKind).map(([kind, k]) => [
      p.name,
      kind,
      int(k.responses),
      int(k.ok),
      ...latencyCells(k.latency),
      Object.entries(k.statuses)
        .map(([status, n]) => `${status}: ${int(n)}`)
        .join(', '),
    ]),
  );
  return {
    kind: 'table',
    head: ['phase', 'kind', 'answers', '2xx', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'by status'],
    rows,
  };
}

function checkRows(report: RunReport): string[][] {
  return report.checks.map((c) => [c.name, c.ok ? 'ok' : '**FAILED**', c.detail]);
}

const average = (values: (number | null)[]) => {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : Math.round(known.reduce((a, b) => a + b, 0) / known.length);
};
const peak = (values: (number | null)[]) => {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : Math.max(...known);
};

/**
 * Peak memory, average CPU and the API's event-loop delay over each phase and wait (drain,
 * settle) of the run.
 */
function resourcesTable(report: RunReport): Block {
  // A wait that found nothing to wait for (settle after drain) has no samples worth a row.
  const spans = report.timeline.spans.filter((span) => span.to - span.from >= 1_000);
  const rows = spans.map((span) => {
    const during = report.timeline.samples.filter(
      (s) => s.at > span.from + 500 && s.at <= span.to + 500,
    );
    const pick = (f: (s: ResourceSample) => number | null) => during.map(f);
    const pct = (v: number | null) => (v === null ? '—' : `${v} %`);
    const mib = (v: number | null) => (v === null ? '—' : `${v} MiB`);
    const lags = pick((s) => s.apiLagMs?.p99 ?? null);
    const avgLag = average(lags);
    const worstLag = peak(lags);
    return [
      span.name,
      ((span.to - span.from) / 1_000).toFixed(1),
      mib(peak(pick((s) => s.apiRssMiB))),
      mib(peak(pick((s) => s.workersRssMiB))),
      pct(average(pick((s) => s.cpu.api))),
      pct(average(pick((s) => s.cpu.workers))),
      pct(average(pick((s) => s.cpu.loadGenerator))),
      pct(average(pick((s) => s.cpu.mariadb))),
      pct(average(pick((s) => s.cpu.redis))),
      avgLag === null || worstLag === null ? '—' : `${avgLag.toFixed(1)} / ${worstLag.toFixed(1)}`,
    ];
  });
  return {
    kind: 'table',
    head: [
      'span',
      'time (s)',
      'API RSS peak',
      'workers RSS peak',
      'CPU API',
      'CPU workers',
      'CPU load generator',
      'CPU MariaDB',
      'CPU Redis',
      'API event-loop delay p99, ms (mean / worst second)',
    ],
    rows,
  };
}

function environmentList(report: RunReport): Block {
  const env = report.environment;
  if (!env) return { kind: 'paragraph', text: 'Environment not collected (the run failed early).' };
  const kv = (record: Record<string, string>) =>
    Object.entries(record)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
  return {
    kind: 'list',
    items: [
      `machine: ${env.cpus}, ${env.memory} RAM, ${env.os}`,
      `load average (1/5/15 min): ${env.loadAverage.before} before, ${env.loadAverage.after ?? '—'} after — anything else running shows here and in the figures`,
      `Node ${env.node}, autocannon ${env.autocannon}, commit ${env.commit}`,
      `MariaDB: ${kv(env.mariadb)}`,
      `Redis: ${kv(env.redis)}`,
      `system: ${report.target}; ${kv(report.settings)}`,
      `size: ${kv(
        Object.fromEntries(
          Object.entries(report.size).map(([k, v]) => [k, v === null ? '—' : String(v)]),
        ),
      )}`,
    ],
  };
}

/** The blocks shown in the terminal at the end of a run. */
export function terminalBlocks(report: RunReport): Block[] {
  const blocks: Block[] = [];
  if (report.phases.length > 0) blocks.push(resultsTable(report.phases));
  if (report.figures.length > 0) {
    blocks.push({ kind: 'list', items: report.figures.map((f) => `${f.label}: ${f.value}`) });
  }
  if (report.checks.length > 0) {
    blocks.push({ kind: 'table', head: ['check', 'result', 'detail'], rows: checkRows(report) });
  }
  if (report.error !== null) {
    blocks.push({ kind: 'paragraph', text: `error: ${report.error.split('\n')[0] ?? ''}` });
  }
  return blocks;
}

/** The whole report: summary.md and report.html. */
export function reportBlocks(report: RunReport, charts: Chart[]): Block[] {
  const verdict = report.passed ? 'PASS' : 'FAIL';
  const blocks: Block[] = [
    { kind: 'heading', level: 1, text: `Load run: ${report.scenario.name} — ${verdict}` },
    {
      kind: 'paragraph',
      text: `\`${report.command}\` · ${report.startedAt} → ${report.finishedAt}`,
    },
    { kind: 'paragraph', text: `**${report.scenario.title}.** ${report.scenario.description}` },
  ];
  if (report.error !== null) {
    blocks.push({ kind: 'heading', level: 2, text: 'Error' }, { kind: 'code', text: report.error });
  }
  blocks.push({ kind: 'heading', level: 2, text: 'Results' }, resultsTable(report.phases), {
    kind: 'paragraph',
    text:
      'Latency percentiles are exact, over every answer (autocannon’s `response` events); ' +
      'non-2xx answers are counted, errors are connections that failed or requests with no ' +
      'answer within 10 s. autocannon’s own HDR figures are in the raw JSON.',
  });
  blocks.push({ kind: 'heading', level: 3, text: 'By kind of request' }, kindsTable(report.phases));
  if (report.figures.length > 0) {
    blocks.push(
      { kind: 'heading', level: 2, text: 'Scenario figures' },
      { kind: 'list', items: report.figures.map((f) => `${f.label}: ${f.value}`) },
    );
  }
  blocks.push(
    { kind: 'heading', level: 2, text: 'Checks' },
    { kind: 'table', head: ['check', 'result', 'detail'], rows: checkRows(report) },
    { kind: 'heading', level: 2, text: 'Resources' },
    resourcesTable(report),
    {
      kind: 'paragraph',
      text:
        `CPU in % of one core, averaged over each phase and wait; MariaDB and Redis are the ` +
        `whole servers, whoever else uses them. The issue’s API memory target is under ` +
        `${API_RSS_TARGET_MIB} MiB at full load. Everything shares the machine's cores: the ` +
        'load generator takes CPU the system would otherwise have.',
    },
    { kind: 'heading', level: 2, text: 'Environment' },
    environmentList(report),
    { kind: 'heading', level: 2, text: 'Charts' },
    ...charts.map((chart): Block => ({ kind: 'chart', ...chart })),
  );
  const problems = Object.entries(report.problems);
  if (problems.length > 0) {
    blocks.push(
      { kind: 'heading', level: 2, text: 'Warnings and errors the processes logged' },
      { kind: 'list', items: problems.map(([message, n]) => `${int(n)} × ${message}`) },
    );
  }
  if (report.reconcile) {
    blocks.push(
      { kind: 'heading', level: 2, text: 'Reconcile (`ops reconcile`)' },
      { kind: 'code', text: report.reconcile.output || '(no output)' },
    );
  }
  return blocks;
}
