import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildOpenApiDocument } from '../../api/openapi';
import { useApiWorld } from '../harness/context';
import { request } from '../harness/http';

/**
 * The OpenAPI document the app serves, judged by tools that did not generate it, and the
 * committed copies (docs/openapi.json, client/schema.ts) compared with what the code generates.
 */
const world = useApiWorld();
const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);

type Json = Record<string, unknown>;
interface Operation {
  operationId?: string;
  summary?: string;
  security?: Record<string, unknown>[];
  responses: Record<string, Json>;
}

let served: Json;
let file: string;
let dir: string;

beforeAll(async () => {
  served = (await request<Json>(world.api.baseUrl, 'GET', '/openapi.json')).body;
  dir = await mkdtemp(path.join(os.tmpdir(), 'openapi-'));
  file = path.join(dir, 'openapi.json');
  await writeFile(file, JSON.stringify(served, null, 2));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs a package's CLI with this Node; resolves with its exit code and output. */
async function cli(script: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(ROOT, script), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Follows a `#/components/...` reference in the served document. */
function deref(value: Json): Json {
  const ref = value.$ref;
  if (typeof ref !== 'string') return value;
  let current: unknown = served;
  for (const key of ref.replace(/^#\//, '').split('/')) current = (current as Json)[key];
  if (current === undefined) throw new Error(`${ref} points nowhere`);
  return deref(current as Json);
}

function operations(): { method: string; path: string; operation: Operation }[] {
  const paths = served.paths as Record<string, Record<string, Operation>>;
  return Object.entries(paths).flatMap(([p, item]) =>
    Object.entries(item).map(([method, operation]) => ({ method, path: p, operation })),
  );
}

/** The response headers declared for a status, by lower-case name, resolved. */
function headersOf(operation: Operation, status: string): Record<string, Json> {
  const response = operation.responses[status];
  if (response === undefined) throw new Error(`no ${status} response`);
  const declared = (deref(response).headers ?? {}) as Record<string, Json>;
  return Object.fromEntries(
    Object.entries(declared).map(([name, header]) => [name.toLowerCase(), deref(header)]),
  );
}

describe('The served OpenAPI document, checked by outside tools', () => {
  it('When an independent OpenAPI 3.1 validator reads it, then it is valid and every $ref resolves', async () => {
    const result = await cli(
      'node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js',
      [file],
    );
    expect(JSON.parse(result.stdout)).toEqual({ valid: true });
    expect(result.code).toBe(0);
  });

  it('When redocly lints it with the recommended rules (redocly.yaml), then it reports no errors', async () => {
    const result = await cli(
      'node_modules/@redocly/cli/bin/cli.js',
      ['lint', file, '--config', 'redocly.yaml', '--format', 'json'],
      // Offline and quiet: no usage data, no update check.
      { REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' },
    );
    const report = JSON.parse(result.stdout) as {
      totals: { errors: number };
      problems: { ruleId: string; severity: string; message: string }[];
    };
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(report.totals.errors).toBe(0);
    expect(result.code).toBe(0);
  });
});

describe('What the served OpenAPI document declares', () => {
  it('When it is read, then component schemas are referenced as #/components/schemas/X and none is a bare $ref', () => {
    const text = JSON.stringify(served);
    expect(text).not.toContain('$defs');
    const schemas = (served.components as { schemas: Record<string, Json> }).schemas;
    expect(Object.keys(schemas)).toEqual(
      expect.arrayContaining([
        'Product',
        'ProductList',
        'Order',
        'OrderList',
        'Problem',
        'Balance',
      ]),
    );
    for (const [name, schema] of Object.entries(schemas)) {
      expect([name, schema.$ref]).toEqual([name, undefined]);
    }
  });

  it('When its operations are listed, then each has a unique operationId and a summary', () => {
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { operation } of operations()) expect(operation.summary).toEqual(expect.any(String));
  });

  it('When it is read, then it names a server and the bearer and Basic security schemes', () => {
    expect(served.servers).toEqual([expect.objectContaining({ url: expect.any(String) })]);
    const schemes = (served.components as { securitySchemes: Record<string, Json> })
      .securitySchemes;
    expect(Object.values(schemes)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
        expect.objectContaining({ type: 'http', scheme: 'basic' }),
      ]),
    );
  });

  it('When an operation is a user endpoint, then it needs the bearer JWT; under /admin, HTTP Basic; else nothing', () => {
    const schemeOf = (operation: Operation) =>
      (operation.security ?? []).flatMap((requirement) => Object.keys(requirement)).sort();
    const schemes = (served.components as { securitySchemes: Record<string, Json> })
      .securitySchemes;
    for (const { path: p, method, operation } of operations()) {
      const expected = /^\/api\/(balance|charges|orders)/.test(p)
        ? 'bearer'
        : p.startsWith('/admin/')
          ? 'basic'
          : undefined;
      const names = schemeOf(operation);
      expect([method, p, names.map((name) => schemes[name]?.scheme)]).toEqual([
        method,
        p,
        expected === undefined ? [] : [expected],
      ]);
      if (expected !== undefined) {
        expect([p, Object.keys(headersOf(operation, '401'))]).toEqual([
          p,
          expect.arrayContaining(['www-authenticate']),
        ]);
      }
    }
  });

  it('When any response is declared, then it declares a required X-Request-Id', () => {
    for (const { path: p, method, operation } of operations()) {
      for (const status of Object.keys(operation.responses)) {
        expect([method, p, status, headersOf(operation, status)['x-request-id']?.required]).toEqual(
          [method, p, status, true],
        );
      }
    }
  });

  it('When a status means "wait" (202, 429, 503, a status poll), then the contract headers are declared', () => {
    for (const { path: p, method, operation } of operations()) {
      for (const status of Object.keys(operation.responses)) {
        const headers = headersOf(operation, status);
        const where = `${method} ${p} ${status}`;
        if (status === '202') {
          expect([where, headers.location?.required]).toEqual([where, true]);
          expect([where, headers['idempotent-replayed']?.required]).toEqual([where, false]);
        }
        if (status === '429' || status === '503') {
          expect([where, headers['retry-after']?.required]).toEqual([where, true]);
        }
        if (status === '401') {
          expect([where, headers['www-authenticate']?.required]).toEqual([where, true]);
        }
        if (status.startsWith('4') || status.startsWith('5')) {
          const content = deref(operation.responses[status] ?? {}).content as Json;
          expect([where, Object.keys(content)]).toEqual([where, ['application/problem+json']]);
        }
      }
    }
    const paths = served.paths as Record<string, Record<string, Operation>>;
    for (const status of ['/api/orders/{orderId}', '/api/charges/{chargeId}']) {
      const get = paths[status]?.get;
      if (!get) throw new Error(`no GET ${status}`);
      expect(headersOf(get, '200')['retry-after']?.required).toBe(false);
    }
  });

  it('When a catalog product is read, then an optional Age is declared on 200 and 503 on the read', () => {
    const paths = served.paths as Record<string, Record<string, Operation>>;
    for (const p of ['/api/products', '/api/products/{productId}']) {
      const get = paths[p]?.get;
      if (!get) throw new Error(`no GET ${p}`);
      expect(headersOf(get, '200').age?.required).toBe(false);
      expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(['503']));
    }
  });
});

describe('Building the OpenAPI document', () => {
  it('When one built document is changed, then the next one built is not', () => {
    const first = buildOpenApiDocument() as {
      components: Record<string, Record<string, Json>>;
      paths: Record<string, Record<string, Operation>>;
    };
    const pristine: unknown = JSON.parse(JSON.stringify(buildOpenApiDocument()));
    for (const group of Object.values(first.components)) {
      for (const entry of Object.values(group)) entry.description = 'changed';
    }
    first.paths['/healthz']?.get?.security?.push({ bearerAuth: [] });
    expect(buildOpenApiDocument()).toEqual(pristine);
    expect(first).not.toEqual(pristine);
  });
});

describe('The committed OpenAPI document and typed client', () => {
  // dist/ is built by the global setup; the generator runs as `npm run openapi` would run it.
  it('When the code generates them, then docs/openapi.json and client/schema.ts are what is committed (else run `npm run openapi`)', async () => {
    const result = await cli('dist/cli/openapi.js', ['--check']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('When the app serves its document, then it is the committed docs/openapi.json', async () => {
    const committed = JSON.parse(
      await readFile(path.join(ROOT, 'docs/openapi.json'), 'utf8'),
    ) as Json;
    expect(served).toEqual(committed);
  });
});
