import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ScenarioResult } from './verify';

export interface ChaosReport {
  startedAt: string;
  command: string;
  /** The commit under test (`abc1234 + uncommitted changes`). */
  code: string;
  short: boolean;
  cutMode: string;
  passed: boolean;
  /** Conclusions drawn across scenarios (the durability comparison). */
  notes: string[];
  scenarios: ScenarioResult[];
}

const ms = (value: number | null | undefined): string =>
  value === null || value === undefined
    ? '—'
    : value < 10_000
      ? `${value} ms`
      : `${(value / 1_000).toFixed(1)} s`;

/** "first 503 after 12 ms; first answers 3/4/5 ms (503)". */
function failFastCell(result: ScenarioResult): string {
  const ff = result.failFast;
  if (!ff) return '—';
  const describe = (name: string, a: typeof ff.submit) => {
    const first = a.first.map((f) => `${f.ms}`).join('/');
    const answers = [...new Set(a.first.map((f) => f.answer))].join(', ');
    return `${name}: 1st 503 ${ms(a.first503AfterCutMs)}, first ${first || '—'} ms (${answers || '—'}), p95 ${ms(a.p95Ms)}`;
  };
  return `${describe('orders', ff.submit)}; ${describe('balance', ff.probe)}`;
}

function recoveryCell(result: ScenarioResult): string {
  const r = result.recovery;
  if (!r) return result.fault.kills === null ? '—' : `${result.fault.kills} kills`;
  const restart = result.fault.restartMs;
  return (
    (restart === null ? '' : `server up after ${ms(restart)} of recovery; `) +
    `202 ${ms(r.firstAcceptMs)}, any PAID ${ms(r.anyPaidMs)}, new order PAID ` +
    `${ms(r.newOrderPaidMs)} (seen by client ${ms(r.newOrderSeenPaidMs)}), backlog drained ` +
    ms(r.backlogDrainedMs)
  );
}

interface Column {
  title: string;
  cell(result: ScenarioResult): string;
}

const COLUMNS: Column[] = [
  { title: 'scenario', cell: (r) => r.name },
  { title: 'result', cell: (r) => (r.passed ? 'PASS' : 'FAIL') },
  { title: 'accepted', cell: (r) => String(r.orders.accepted) },
  {
    title: 'final (paid/failed/cancelled)',
    cell: (r) => {
      const { paid, failed, cancelled } = r.orders;
      return `${paid + failed + cancelled} (${paid}/${failed}/${cancelled})`;
    },
  },
  { title: 'lost', cell: (r) => String(r.orders.lost) },
  { title: 'ON_HOLD', cell: (r) => String(r.orders.onHold) },
  { title: 'never accepted', cell: (r) => String(r.orders.gaveUp) },
  {
    title: 'reconcile',
    cell: (r) => (r.invariants ? (r.invariants.reconcileOk ? 'ok' : 'BROKEN') : '—'),
  },
  {
    title: 'balance/status mismatches',
    cell: (r) =>
      r.invariants ? `${r.invariants.balanceMismatches}/${r.invariants.statusMismatches}` : '—',
  },
  { title: '202/s before', cell: (r) => String(r.orders.acceptedPerSecondBefore) },
  {
    title: 'paid/s before→during',
    cell: (r) => `${r.orders.paidPerSecondBefore}→${r.orders.paidPerSecondDuringFault}`,
  },
  { title: 'fail fast', cell: failFastCell },
  { title: 'recovery', cell: recoveryCell },
];

/** A killed cluster master's timeline, from the kill. */
function failoverCell(result: ScenarioResult): string {
  const f = result.failover;
  if (!f) return '—';
  const at = (value: number | null) => (value === null ? 'never' : ms(value));
  return (
    `replica promoted ${ms(f.promotedMs)}, killed node back in sync ${ms(f.replicaOnlineMs)}; ` +
    `first 202 ${at(f.firstAcceptMs)}, on the killed master's partitions ` +
    `${at(f.firstAcceptOnKilledMasterMs)}; lost ${f.lost} (${f.lostOnKilledMaster} there, ` +
    `${f.lostButApplied} of them applied all the same, ` +
    `${f.acceptedOnKilledMasterInLastSecond} accepted there in the second before the kill)`
  );
}

/** A plain-text table for the terminal. */
export function summaryTable(results: ScenarioResult[]): string {
  const rows = [COLUMNS.map((c) => c.title), ...results.map((r) => COLUMNS.map((c) => c.cell(r)))];
  // The two long columns go on their own lines, so the table stays readable in a terminal.
  const narrow = COLUMNS.length - 2;
  const widths = COLUMNS.slice(0, narrow).map((_, i) =>
    Math.max(...rows.map((row) => (row[i] ?? '').length)),
  );
  const lines: string[] = [];
  for (const [index, row] of rows.entries()) {
    lines.push(
      row
        .slice(0, narrow)
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  '),
    );
    if (index === 0) continue;
    lines.push(`    fail fast: ${row[narrow] ?? ''}`, `    recovery:  ${row[narrow + 1] ?? ''}`);
    const result = results[index - 1];
    if (result?.failover) lines.push(`    failover:  ${failoverCell(result)}`);
    for (const failure of result?.failures ?? []) lines.push(`    ✗ ${failure}`);
  }
  return lines.join('\n');
}

function markdown(report: ChaosReport): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const out = [
    `# Chaos run ${report.startedAt}`,
    '',
    `\`${report.command}\` on ${report.code} — ${report.short ? 'short' : 'full'} run, cut mode: ${report.cutMode}: ` +
      `**${report.passed ? 'every scenario passed' : 'some scenarios FAILED'}**.`,
    '',
    `| ${COLUMNS.map((c) => c.title).join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...report.scenarios.map((r) => `| ${COLUMNS.map((c) => escape(c.cell(r))).join(' | ')} |`),
    ...(report.notes.length > 0 ? ['', ...report.notes.map((n) => `- ${n}`)] : []),
    '',
    'Fail fast: for requests sent while the dependency was down, the time from the cut to the',
    'first 503, the latencies of the first answers (and their statuses), and the p95. Recovery:',
    'from the restore to the first 202, to the first order paid (the backlog included), to the',
    'first order accepted after the restore being paid (database; client view in brackets), and',
    'until every order accepted before the restore was final (client view). A restarted server',
    '(db-crash) restores when it accepts connections again; its start-up time is shown first.',
  ];
  for (const r of report.scenarios) {
    out.push('', `## ${r.name}: ${r.title}`, '');
    out.push(r.passed ? 'Passed.' : `**Failed:** ${r.failures.join('; ')}.`, '');
    out.push(
      `- settings: ${Object.entries(r.settings)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(', ')}`,
    );
    out.push(`- orders: ${JSON.stringify(r.orders)}`);
    if (r.failover) {
      out.push(
        `- failover: ${failoverCell(r)}`,
        `- failover figures: ${JSON.stringify(r.failover)}`,
      );
    }
    out.push(`- database rows: ${JSON.stringify(r.dbStatusCounts)}`);
    out.push(`- answers by status: ${JSON.stringify(r.answers)}`);
    if (r.invariants && r.invariants.examples.length > 0) {
      out.push(`- mismatches: ${r.invariants.examples.join('; ')}`);
    }
    if (r.lostExamples.length > 0) out.push(`- lost, e.g.: ${JSON.stringify(r.lostExamples)}`);
    if (Object.keys(r.problems).length > 0) {
      out.push('- warnings and errors the processes logged:', '');
      for (const [message, n] of Object.entries(r.problems)) out.push(`  - ${n} × ${message}`);
    }
    if (r.invariants && !r.invariants.reconcileOk) {
      out.push('', '```', r.invariants.reconcileOutput, '```');
    }
    if (r.error) out.push('', '```', r.error, '```');
  }
  return `${out.join('\n')}\n`;
}

/** Writes `chaos.json` and `chaos.md` into `dir` and returns their paths. */
export function writeReport(dir: string, report: ChaosReport): string[] {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'chaos.json');
  const md = path.join(dir, 'chaos.md');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(md, markdown(report));
  return [json, md];
}
