import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { repoRoot } from '../../test/harness/paths';

/** The closed-loop load generators the bench drives the same scenarios with. */
export const GENERATORS = ['autocannon', 'wrk'] as const;
export type GeneratorName = (typeof GENERATORS)[number];

/** What one closed-loop run is asked to send. */
export type Workload =
  | { kind: 'get'; url: string }
  | { kind: 'order'; baseUrl: string; tokens: readonly string[]; products: number; key: string }
  | { kind: 'charge'; baseUrl: string; tokens: readonly string[]; key: string };

/** One closed-loop run: answers counted by the generator that produced them. */
export interface LoadRun {
  name: string;
  generator: GeneratorName;
  seconds: number;
  /** Answers received (any status). */
  answered: number;
  /** Of them, 2xx: what CPU per request or per accepted order is divided by. */
  ok: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  /** The answers that were not 2xx, by status: `{ "503": 12 }`. */
  statuses: Record<string, number>;
  /** Socket errors and timeouts. */
  errors: number;
}

/** `{ "202": 9, "503": 2 }` → `{ "503": 2 }`. */
function non2xxStatuses(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts).filter(([status, count]) => !status.startsWith('2') && count > 0),
  );
}

const sum = (counts: Record<string, number>) =>
  Object.values(counts).reduce((total, n) => total + n, 0);

export interface RunShape {
  connections: number;
  durationS: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export function generate(
  generator: GeneratorName,
  name: string,
  workload: Workload,
  shape: RunShape,
): Promise<LoadRun> {
  return generator === 'wrk' ? wrk(name, workload, shape) : cannon(name, workload, shape);
}

function cannonOptions(workload: Workload, shape: RunShape): autocannon.Options {
  const base = { connections: shape.connections, duration: shape.durationS };
  if (workload.kind === 'get') return { ...base, url: workload.url };
  const { tokens, key } = workload;
  let n = 0;
  const path = workload.kind === 'order' ? '/api/orders' : '/api/charges';
  const products = workload.kind === 'order' ? workload.products : 1;
  return {
    ...base,
    url: workload.baseUrl,
    requests: [
      {
        method: 'POST',
        path,
        setupRequest: (request) => {
          const i = n++;
          return {
            ...request,
            headers: {
              'content-type': 'application/json',
              authorization: `Bearer ${tokens[i % tokens.length] ?? ''}`,
              'idempotency-key': `${key}-${i}`,
            },
            body:
              workload.kind === 'order'
                ? `{"items":[{"productId":${1 + (i % products)},"quantity":1}]}`
                : '{"amount":1000}',
          };
        },
      },
    ],
  };
}

/** One autocannon run in this process, with its progress bar on stderr. */
function cannon(name: string, workload: Workload, shape: RunShape): Promise<LoadRun> {
  log(`-- ${name} [autocannon, ${shape.connections} connections, ${shape.durationS} s]`);
  return new Promise((resolve, reject) => {
    const instance = autocannon(cannonOptions(workload, shape), (error, result) => {
      if (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      const ok = result['2xx'];
      const answered = ok + result.non2xx;
      const byStatus = Object.entries(result.statusCodeStats ?? {}).map(
        ([status, stats]) => [status, stats.count ?? 0] as const,
      );
      resolve({
        name,
        generator: 'autocannon',
        seconds: result.duration,
        answered,
        ok,
        requestsPerSecond: answered / result.duration,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        non2xx: result.non2xx,
        statuses: non2xxStatuses(Object.fromEntries(byStatus)),
        errors: result.errors + result.timeouts,
      });
    });
    autocannon.track(instance, { renderResultsTable: false, renderLatencyTable: false });
  });
}

interface WrkSummary {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
  /** Answers that were not 2xx, by status (the scripts' `response`); wrk's `status` counts ≥ 400 only. */
  non2xx: Record<string, number>;
}

/** Reads the line `load/bench/wrk/common.lua`'s `done` prints. */
export function parseWrkSummary(output: string): WrkSummary {
  const line = output.split('\n').find((l) => l.startsWith('BENCH '));
  if (line === undefined) throw new Error(`wrk printed no summary:\n${output}`);
  return JSON.parse(line.slice('BENCH '.length)) as WrkSummary;
}

/** One `wrk` run (2 threads), a child process; progress printed once a second. */
async function wrk(name: string, workload: Workload, shape: RunShape): Promise<LoadRun> {
  log(`-- ${name} [wrk, 2 threads, ${shape.connections} connections, ${shape.durationS} s]`);
  const luaDir = path.join(repoRoot(), 'load', 'bench', 'wrk');
  // wrk is the Debian package's; nothing else of this process's environment is handed on.
  const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin' };
  let url: string;
  let script: string;
  if (workload.kind === 'get') {
    url = workload.url;
    script = 'get.lua';
  } else {
    const tokens = path.join(tmpdir(), `bench-tokens-${process.pid}.txt`);
    writeFileSync(tokens, `${workload.tokens.join('\n')}\n`);
    env.BENCH_TOKENS = tokens;
    env.BENCH_KEY = workload.key;
    url = workload.baseUrl;
    script = workload.kind === 'order' ? 'order.lua' : 'charge.lua';
    if (workload.kind === 'order') env.BENCH_PRODUCTS = String(workload.products);
  }
  env.BENCH_LUA_DIR = luaDir;
  const args = [
    '-t2',
    `-c${shape.connections}`,
    `-d${shape.durationS}s`,
    '--timeout',
    '10s',
    '-s',
    path.join(luaDir, script),
    url,
  ];
  const child = spawn('wrk', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const started = Date.now();
  const progress = setInterval(() => {
    process.stderr.write(
      `\r   ${((Date.now() - started) / 1_000).toFixed(0)} / ${shape.durationS} s`,
    );
  }, 1_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  }).finally(() => {
    clearInterval(progress);
    process.stderr.write('\n');
  });
  if (code !== 0) throw new Error(`wrk exited with ${String(code)}:\n${output}`);
  const s = parseWrkSummary(output);
  const seconds = s.durationUs / 1e6;
  // wrk counts complete responses in requests; socket errors apart.
  const answered = s.requests;
  const non2xx = sum(s.non2xx);
  return {
    name,
    generator: 'wrk',
    seconds,
    answered,
    ok: answered - non2xx,
    requestsPerSecond: answered / seconds,
    p50Ms: s.p50Us / 1_000,
    p99Ms: s.p99Us / 1_000,
    non2xx,
    statuses: s.non2xx,
    errors: s.connect + s.read + s.write + s.timeout,
  };
}
