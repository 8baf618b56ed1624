import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CutMode } from '../harness/fault-proxy';
import { repoRoot, resultsDir } from '../harness/paths';
import { runDurability } from './durability';
import { writeReport, summaryTable, type ChaosReport } from './report';
import { runScenario, type RunOptions } from './run';
import { SCENARIO_NAMES, scenarioSpecs } from './scenarios';
import type { ScenarioResult } from './verify';

const HELP = `usage: npm run chaos -- [--scenario <name>]... [--short] [--keep] [--cut-mode hang|refuse]

Runs the real API and worker processes against MariaDB and Redis through fault proxies and
checks that no accepted order is lost or applied twice. Exits 1 if any scenario fails.

  --scenario <name>   ${SCENARIO_NAMES.join(', ')}, durability (fsync cost), or all
                      (default: all; repeat or comma-separate for several)
  --short             a small fast version: a few hundred orders, 2-6 s faults
  --keep              keep each scenario's database and Redis keys
  --cut-mode <mode>   make every cut hang (connections open, silent) or refuse (nothing
                      listens); default: db-outage refuses, the other cuts hang
  --mysql-url <url>   MariaDB server (default mysql://root@127.0.0.1:3306/)
  --redis-url <url>   shared Redis (default redis://127.0.0.1:6379)
  --job-attempts <n>, --job-backoff-ms <ms>
                      the workers' retry policy (default: the system's 8 and 1000; with
                      --short 3 and 300, a budget shorter than the outages)

Results: load/results/<timestamp>/chaos.{json,md}, process logs under logs/.`;

function parse() {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', multiple: true },
      short: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'cut-mode': { type: 'string' },
      'mysql-url': { type: 'string', default: 'mysql://root@127.0.0.1:3306/' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
      'job-attempts': { type: 'string' },
      'job-backoff-ms': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const names = (values.scenario ?? ['all']).flatMap((s) => s.split(',')).filter(Boolean);
  const known = new Set<string>([...SCENARIO_NAMES, 'durability', 'all']);
  const unknown = names.filter((n) => !known.has(n));
  const cutMode = values['cut-mode'];
  if (unknown.length > 0) throw new Error(`unknown scenario: ${unknown.join(', ')}`);
  if (cutMode !== undefined && cutMode !== 'hang' && cutMode !== 'refuse') {
    throw new Error(`unknown cut mode: ${cutMode}`);
  }
  const mode: CutMode | undefined = cutMode;
  const positive = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer`);
    return n;
  };
  return {
    ...values,
    names,
    cutMode: mode,
    jobAttempts: positive('--job-attempts', values['job-attempts']),
    jobBackoffMs: positive('--job-backoff-ms', values['job-backoff-ms']),
  };
}

/** The commit under test, and whether the working tree differs from it. */
function codeVersion(): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' + uncommitted changes' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const startedAt = new Date();
  const dir = resultsDir(startedAt);
  const options: RunOptions = {
    ...(args.cutMode ? { cutMode: args.cutMode } : {}),
    ...(args.jobAttempts ? { jobAttempts: args.jobAttempts } : {}),
    ...(args.jobBackoffMs ? { jobBackoffMs: args.jobBackoffMs } : {}),
    keep: args.keep,
    mysqlUrl: args['mysql-url'],
    redisUrl: args['redis-url'],
    logDir: path.join(dir, 'logs'),
    log: (line) => {
      process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
    },
  };
  const all = args.names.includes('all');
  const results: ScenarioResult[] = [];
  let durabilitySummary: string | undefined;
  for (const spec of scenarioSpecs(args.short)) {
    if (all || args.names.includes(spec.name)) results.push(await runScenario(spec, options));
  }
  if (args.names.includes('durability')) {
    const durability = await runDurability(args.short, options);
    results.push(...durability.results);
    durabilitySummary = durability.summary;
  }
  const report: ChaosReport = {
    startedAt: startedAt.toISOString(),
    command: `npm run chaos -- ${process.argv.slice(2).join(' ')}`.trim(),
    code: codeVersion(),
    short: args.short,
    cutMode: args.cutMode ?? 'per scenario',
    passed: results.every((r) => r.passed),
    notes: durabilitySummary === undefined ? [] : durabilitySummary.split('\n'),
    scenarios: results,
  };
  const files = writeReport(dir, report);
  process.stdout.write(`\n${summaryTable(results)}\n`);
  if (durabilitySummary) process.stdout.write(`\n${durabilitySummary}\n`);
  process.stdout.write(`\n${report.passed ? 'PASS' : 'FAIL'} — ${files.join(', ')}\n`);
  return report.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
