import http from 'node:http';
import { jwtVerify } from 'jose';
import { QueryTypes } from 'sequelize';
import { createTestContext, type TestContext } from '../harness/context';
import { testDatabaseUrl } from '../harness/env';
import { runBuilt, type RunningProcess } from '../harness/process';

let ctx: TestContext;
const started: RunningProcess[] = [];

beforeAll(async () => {
  ctx = await createTestContext();
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await ctx.destroy();
});

/** Runs a built entry point with this file's environment plus `extra`. */
function run(entry: string, args: string[] = [], extra: Record<string, string> = {}) {
  const running = runBuilt(entry, args, {
    ...ctx.env,
    PORT: '0',
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    ...extra,
  });
  started.push(running);
  return running;
}

async function startApiProcess(): Promise<{ api: RunningProcess; baseUrl: string }> {
  const api = run('api/main.js');
  const listening = await api.waitForLog('api listening');
  expect(listening.port).toEqual(expect.any(Number));
  return { api, baseUrl: `http://127.0.0.1:${String(listening.port)}` };
}

/** A POST whose JSON body never ends, so the server holds an in-flight request. */
function holdRequestOpen(baseUrl: string): http.ClientRequest {
  const req = http.request(`${baseUrl}/api/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
  });
  req.on('error', () => {
    // The server abandons this request on the second signal; that is the point.
  });
  req.write('{"items": [');
  return req;
}

const databaseExists = async (name: string) =>
  (
    await ctx.sequelize.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', {
      replacements: [name],
      type: QueryTypes.SELECT,
    })
  ).length === 1;

describe('dist/api/main.js', () => {
  it('When started with PORT=0, then it logs "api listening" as JSON with the port and serves /healthz', async () => {
    const { baseUrl } = await startApiProcess();
    const response = await fetch(`${baseUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('When sent SIGTERM with an idle keep-alive connection open, then it exits 0 within 5 s', async () => {
    const { api, baseUrl } = await startApiProcess();
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
    api.child.kill('SIGTERM');
    expect(await api.waitForExit(5_000)).toEqual({ code: 0, signal: null });
    expect(api.logs().map((line) => line.message)).toContain('shutting down');
  });

  it('When a request is in flight, then SIGTERM waits for it, and a second SIGTERM exits at once', async () => {
    const { api, baseUrl } = await startApiProcess();
    const inFlight = holdRequestOpen(baseUrl);
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      api.child.kill('SIGTERM');
      await api.waitForLog('shutting down', 2_000);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(api.child.exitCode).toBeNull();
      const signalledAt = Date.now();
      api.child.kill('SIGTERM');
      const exit = await api.waitForExit(5_000);
      expect(Date.now() - signalledAt).toBeLessThan(2_000);
      expect(exit.signal).toBeNull();
      expect(exit.code).not.toBe(0);
    } finally {
      inFlight.destroy();
    }
  });

  it('When SIGTERM is sent twice in quick succession, then it exits promptly', async () => {
    const { api } = await startApiProcess();
    api.child.kill('SIGTERM');
    api.child.kill('SIGTERM');
    const exit = await api.waitForExit(5_000);
    expect(exit.signal).toBeNull();
    expect(exit.code).not.toBeNull();
  });

  it('When PORT is invalid, then it exits 1 with a message naming PORT', async () => {
    const api = run('api/main.js', [], { PORT: 'abc' });
    expect(await api.waitForExit()).toEqual({ code: 1, signal: null });
    expect(api.stderr()).toContain('PORT');
  });
});

describe('dist/workers/main.js', () => {
  it('When started, then it logs "workers started" and exits 0 on SIGTERM', async () => {
    const workers = run('workers/main.js');
    await workers.waitForLog('workers started', 15_000);
    workers.child.kill('SIGTERM');
    expect(await workers.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    expect(workers.logs().map((line) => line.message)).toContain('shut down cleanly');
  });

  it('When LOG_LEVEL is invalid, then it exits 1 with a message naming LOG_LEVEL', async () => {
    const workers = run('workers/main.js', [], { LOG_LEVEL: 'loud' });
    expect(await workers.waitForExit()).toEqual({ code: 1, signal: null });
    expect(workers.stderr()).toContain('LOG_LEVEL');
  });
});

describe('dist/cli/start.js (npm start)', () => {
  it('When Ctrl-C reaches its whole process group, then the API and the workers each shut down cleanly, neither at once', async () => {
    const start = runBuilt(
      'cli/start.js',
      [],
      { ...ctx.env, PORT: '0', WORKER_METRICS_PORT: '0', LOG_LEVEL: 'info' },
      { ownGroup: true },
    );
    started.push(start);
    await start.waitForLog('api listening', 30_000);
    await start.waitForLog('workers started', 30_000);
    start.signalGroup('SIGINT');
    expect(await start.waitForExit(15_000)).toEqual({ code: 0, signal: null });
    const ended = start
      .logs()
      .filter((line) => line.message === 'shut down cleanly' || line.level === 'warn')
      .map((line) => `${String(line.service)}: ${String(line.message)}`);
    expect(ended.sort()).toEqual(['api: shut down cleanly', 'workers: shut down cleanly']);
  });
});

describe('dist/cli/token.js', () => {
  it('When given user id 42, then it prints an HS256 JWT for sub 42 with an expiry', async () => {
    const token = run('cli/token.js', ['42']);
    expect(await token.waitForExit()).toEqual({ code: 0, signal: null });
    const jwt = token.stdout().trim();
    const { payload, protectedHeader } = await jwtVerify(
      jwt,
      new TextEncoder().encode(ctx.config.jwtSecret),
      { algorithms: ['HS256'] },
    );
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload.sub).toBe('42');
    expect(payload.exp).toEqual(expect.any(Number));
    expect(payload.exp ?? 0).toBeGreaterThan(Date.now() / 1000);
  });

  it.each([['abc'], ['0'], ['-1']])(
    'When given user id %s, then it exits 2 with usage and prints no token',
    async (userId) => {
      const token = run('cli/token.js', [userId]);
      expect(await token.waitForExit()).toEqual({ code: 2, signal: null });
      expect(token.stdout()).toBe('');
      expect(token.stderr()).toMatch(/usage/i);
    },
  );

  it('When given no user id, then it exits 2', async () => {
    const token = run('cli/token.js');
    expect(await token.waitForExit()).toEqual({ code: 2, signal: null });
  });
});

describe('dist/cli/migrate.js', () => {
  it('When DATABASE_URL names a missing database, then it creates and migrates it', async () => {
    const name = `shop_test_${ctx.id}_cli`;
    try {
      expect(await databaseExists(name)).toBe(false);
      const migrate = run('cli/migrate.js', [], { DATABASE_URL: testDatabaseUrl(name) });
      expect(await migrate.waitForExit(20_000)).toEqual({ code: 0, signal: null });
      expect(await databaseExists(name)).toBe(true);
      const tables = await ctx.sequelize.query<{ name: string }>(
        'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?',
        { replacements: [name], type: QueryTypes.SELECT },
      );
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(['products', 'orders', 'order_items', 'users', 'schema_migrations']),
      );
      const rerun = run('cli/migrate.js', [], { DATABASE_URL: testDatabaseUrl(name) });
      expect(await rerun.waitForExit(20_000)).toEqual({ code: 0, signal: null });
    } finally {
      await ctx.sequelize.query(`DROP DATABASE IF EXISTS \`${name}\``);
    }
  });

  it('When the database server is unreachable, then it exits 1 with a message', async () => {
    const migrate = run('cli/migrate.js', [], { DATABASE_URL: 'mysql://root@127.0.0.1:1/x' });
    expect(await migrate.waitForExit(20_000)).toEqual({ code: 1, signal: null });
    expect(migrate.stderr()).not.toBe('');
  });
});
