import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { parse } from 'yaml';
import { z } from 'zod';

export const ROOT = path.resolve(__dirname, '../..');

export function readText(relative: string): string {
  return readFileSync(path.join(ROOT, relative), 'utf8');
}

/** YAML with `<<` merge keys, as docker compose reads it. */
export function readYaml(relative: string): unknown {
  return parse(readText(relative), { merge: true });
}

const strings = z.array(z.string());

const serviceSchema = z.looseObject({
  image: z.string().optional(),
  build: z.unknown().optional(),
  command: z.union([z.string(), strings]).optional(),
  container_name: z.string().optional(),
  env_file: z.union([z.string(), strings]).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  healthcheck: z
    .looseObject({
      test: z.union([z.string(), strings]).optional(),
      disable: z.boolean().optional(),
    })
    .optional(),
  depends_on: z
    .union([strings, z.record(z.string(), z.looseObject({ condition: z.string() }))])
    .optional(),
  profiles: strings.optional(),
  volumes: strings.optional(),
  ports: strings.optional(),
  expose: strings.optional(),
  restart: z.string().optional(),
});

export type ComposeService = z.infer<typeof serviceSchema>;

export const composeSchema = z.looseObject({
  services: z.record(z.string(), serviceSchema),
  volumes: z.record(z.string(), z.unknown()).optional(),
});

export function readCompose() {
  return composeSchema.parse(readYaml('docker-compose.yml'));
}

/** A health check's command as one string (exec form joined by spaces). */
export function healthcheckCommand(service: ComposeService): string {
  const test = service.healthcheck?.test;
  if (test === undefined) return '';
  return typeof test === 'string' ? test : test.join(' ');
}

/**
 * A dotenv file: the variables it sets, and every variable it names, commented-out examples
 * (`# WORKER_CONCURRENCY=8`) included.
 */
export function parseEnvFile(text: string): { values: Map<string, string>; named: string[] } {
  const values = new Map<string, string>();
  const named: string[] = [];
  for (const line of text.split('\n')) {
    const match = /^\s*(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match) continue;
    const [, comment, name = '', value = ''] = match;
    named.push(name);
    if (comment === undefined) values.set(name, value.trim());
  }
  return { values, named };
}

/** Variables read by the MariaDB and Grafana images, not by our processes. */
export const IMAGE_VARIABLE = /^(MARIADB|GF)_/;

/** `${NAME}`, `${NAME:-x}`, `${NAME:?x}` references in a compose file. */
export function interpolatedVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? '');
}

/** A Dockerfile's stages, each a list of instructions with continuation lines joined. */
export function dockerfileStages(text: string): { from: string; instructions: string[] }[] {
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: { from: string; instructions: string[] }[] = [];
  for (const instruction of instructions) {
    if (/^FROM\s/i.test(instruction)) stages.push({ from: instruction, instructions: [] });
    else stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

const SERIES_SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * Every series name the processes can export: the metrics declared in the source
 * (`new Histogram({ name: 'shop_...' })`) and prom-client's default metrics, with the
 * `_bucket`/`_sum`/`_count` series of histograms and summaries.
 */
export async function exportedSeries(): Promise<Set<string>> {
  const declared: { name: string; type: string }[] = [];
  for (const folder of ['api', 'workers', 'shared']) {
    for (const file of sourceFiles(path.join(ROOT, folder))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{\s*name: '(\w+)'/g)) {
        declared.push({ type: (m[1] ?? '').toLowerCase(), name: m[2] ?? '' });
      }
    }
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const metric of await registry.getMetricsAsJSON()) {
    declared.push({ type: String(metric.type), name: metric.name });
  }
  const series = new Set<string>();
  for (const { name, type } of declared) {
    series.add(name);
    if (type === 'histogram' || type === 'summary') {
      for (const suffix of SERIES_SUFFIXES) series.add(name + suffix);
    }
  }
  return series;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** The PromQL functions, aggregations and keywords our dashboards and rules use. */
const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'increase',
  'histogram_quantile',
  'scalar',
  'clamp_min',
  'max_over_time',
  'min_over_time',
  'and',
  'or',
  'unless',
  'bool',
]);

/**
 * The metric names a PromQL expression reads. Label matchers, ranges, grouping clauses,
 * strings and numbers are removed first; any other word must be a known function (above) or a
 * metric, so a typo in either shows up as an unknown metric.
 */
export function promqlMetricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\boffset\s+\w+/g, '')
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, '');
  return [...bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((word) => !PROMQL_WORDS.has(word));
}

export { crc16, keySlot } from '../../shared/keyspace';
