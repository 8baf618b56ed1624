import path from 'node:path';
import { parseArgs } from 'node:util';
import { resultsDir } from '../test/harness/paths';
import { loadAverage } from './report/environment';
import { toMarkdown } from './report/document';
import { terminalBlocks } from './report/summary';
import type { RunReport } from './report/types';
import { writeReport } from './report/write';
import { runScenario, type HarnessOptions } from './scenarios/harness';
import { SCENARIOS, scenarioNamed } from './scenarios/index';

const HELP = `usage: npm run load -- <scenario> [options]

Starts the system (1 API and --workers worker processes from dist/, a fresh database, its own
Redis prefix), seeds products and funded users, runs the scenario with autocannon, waits until
every accepted order and charge is final, runs \`ops reconcile\` and writes
load/results/<timestamp>-<scenario>/ (result.json, summary.md, SVG charts, report.html).
Exits 1 if a check or reconcile fails.

scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}

  --connections N    concurrent connections (default: the scenario's, mostly 100)
  --amount N         requests in all (default: the scenario's, e.g. 100000)
  --duration S       a timed run of S seconds instead of an amount; with --amount as well,
                     whichever comes first (overload: the length of each phase)
  --warmup S         seconds of warm-up before the measured phase, reported as its own row
                     (default 3 for the closed-loop scenarios, 0 for the others; 0: none)
  --users N          funded users the requests are spread over
  --products N       products in the catalog
  --workers N        worker processes (default 1)
  --stock N          flash-sale: the hot product's stock (default 100)
  --hot              drain: every order is for one product
  --rate N           overload: the capacity (req/s) to multiply instead of measuring it
  --keep             keep the database and the Redis keys afterwards
  --url URL          use a running system instead of starting one (127.0.0.1 only); it is
                     seeded through --database-url, and its JWT secret is --jwt-secret
  --database-url U   with --url: the system's database (default mysql://root@127.0.0.1:3306/shop)
  --jwt-secret S     with --url: the system's JWT_SECRET (default: the development secret)
  --mysql-url U      the server a run's own database is created on (mysql://root@127.0.0.1:3306/)
  --redis-url U      Redis (default redis://127.0.0.1:6379)`;

type Args = Omit<HarnessOptions, 'dir' | 'log'>;

function positiveInt(name: string, value: string | undefined, min = 1): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
  return n;
}

/** Only the local host is ever a target: a load test aimed elsewhere is an attack. */
function loopbackOnly(name: string, url: string): string {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') {
    throw new Error(`--${name} must point at this machine (127.0.0.1), not ${host}`);
  }
  return url.replace(/\/+$/, '');
}

function parse(argv: string[]): Args | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      connections: { type: 'string' },
      amount: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      users: { type: 'string' },
      products: { type: 'string' },
      workers: { type: 'string' },
      stock: { type: 'string' },
      rate: { type: 'string' },
      hot: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      url: { type: 'string' },
      'database-url': { type: 'string', default: 'mysql://root@127.0.0.1:3306/shop' },
      'jwt-secret': { type: 'string' },
      'mysql-url': { type: 'string', default: 'mysql://root@127.0.0.1:3306/' },
      'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const [name, ...rest] = positionals;
  if (name === undefined) throw new Error('name a scenario');
  if (rest.length > 0) throw new Error(`unexpected: ${rest.join(' ')}`);
  const scenario = scenarioNamed(name);
  if (!scenario) throw new Error(`unknown scenario: ${name}`);
  const d = scenario.defaults;
  const amountArg = positiveInt('amount', values.amount);
  const durationS = positiveInt('duration', values.duration) ?? d.durationS;
  const amount = amountArg ?? (values.duration !== undefined ? null : d.amount);
  const connections = positiveInt('connections', values.connections) ?? d.connections;
  return {
    scenario,
    size: {
      // autocannon refuses more connections than requests.
      connections: amount === null ? connections : Math.min(connections, amount),
      amount,
      durationS,
      warmupS: positiveInt('warmup', values.warmup, 0) ?? d.warmupS,
      users: positiveInt('users', values.users) ?? d.users,
      products: positiveInt('products', values.products) ?? d.products,
      workers: positiveInt('workers', values.workers) ?? 1,
      stock: positiveInt('stock', values.stock),
      rate: positiveInt('rate', values.rate),
      hot: values.hot,
    },
    keep: values.keep,
    url: values.url === undefined ? undefined : loopbackOnly('url', values.url),
    databaseUrl: loopbackOnly('database-url', values['database-url']),
    jwtSecret: values['jwt-secret'],
    mysqlUrl: loopbackOnly('mysql-url', values['mysql-url']),
    redisUrl: loopbackOnly('redis-url', values['redis-url']),
  };
}

const log = (line: string) => {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

async function main(): Promise<number> {
  let args: Args | 'help';
  try {
    args = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const startedAt = new Date();
  const dir = resultsDir(startedAt, args.scenario.name);
  const report: RunReport = {
    scenario: {
      name: args.scenario.name,
      title: args.scenario.title,
      description: args.scenario.description,
    },
    command: `npm run load -- ${process.argv.slice(2).join(' ')}`,
    startedAt: startedAt.toISOString(),
    finishedAt: '',
    target: '',
    size: args.size,
    settings: {},
    environment: null,
    phases: [],
    figures: [],
    checks: [],
    settle: null,
    reconcile: null,
    problems: {},
    timeline: { startedAt: Date.now(), samples: [], spans: [] },
    charts: [],
    passed: false,
    error: null,
  };
  log(`${args.scenario.name}: ${args.scenario.title}`);
  try {
    await runScenario({ ...args, dir, log }, report);
  } catch (error) {
    report.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`error: ${error instanceof Error ? error.message : String(error)}`);
  }
  report.finishedAt = new Date().toISOString();
  if (report.environment) report.environment.loadAverage.after = loadAverage();
  report.passed = report.error === null && report.checks.every((c) => c.ok);
  const files = writeReport(dir, report);
  process.stdout.write(`\n${toMarkdown(terminalBlocks(report))}\n`);
  process.stdout.write(
    `${report.passed ? 'PASS' : 'FAIL'} — ${path.relative(process.cwd(), dir)}/ ` +
      `(${files.map((f) => path.basename(f)).join(', ')})\n`,
  );
  return report.passed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
