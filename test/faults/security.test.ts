import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { expectProblem, request } from '../harness/http';
import { newKey } from '../harness/pipeline';
import { runBuilt } from '../harness/process';

const ADMIN_PASSWORD = 'correct horse battery staple';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Admin surfaces', () => {
  let closed: { ctx: TestContext; api: RunningApi };
  let open: { ctx: TestContext; api: RunningApi };

  beforeAll(async () => {
    const closedCtx = await createTestContext();
    closed = { ctx: closedCtx, api: await startApi(closedCtx) };
    const openCtx = await createTestContext({ ADMIN_USER: 'ops', ADMIN_PASSWORD });
    open = { ctx: openCtx, api: await startApi(openCtx) };
  });

  afterAll(async () => {
    for (const world of [closed, open]) {
      await world.api.close();
      await world.ctx.destroy();
    }
  });

  it('When no admin password is configured, then /admin refuses everyone with 401 and a Basic challenge', async () => {
    for (const authorization of [undefined, basic('admin', ''), basic('admin', 'admin')]) {
      const response = await request(closed.api.baseUrl, 'GET', '/admin/queues', {
        headers: authorization ? { authorization } : {},
      });
      expectProblem(response, 401, 'UNAUTHENTICATED');
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic /);
    }
  });

  it.each([
    ['no credentials', undefined],
    ['a wrong password', basic('ops', 'wrong')],
    ['a wrong user', basic('admin', ADMIN_PASSWORD)],
    ['a password prefix', basic('ops', ADMIN_PASSWORD.slice(0, -1))],
    ['garbage', 'Basic !!!'],
    ['a bearer token', 'Bearer a.b.c'],
  ])('When the request has %s, then /admin answers 401', async (_label, authorization) => {
    const response = await request(open.api.baseUrl, 'GET', '/admin/queues', {
      headers: authorization ? { authorization } : {},
    });
    expectProblem(response, 401, 'UNAUTHENTICATED');
  });

  it('When the credentials are right, then the request gets past authentication', async () => {
    const response = await request(open.api.baseUrl, 'GET', '/admin/nothing-here', {
      headers: { authorization: basic('ops', ADMIN_PASSWORD) },
    });
    expectProblem(response, 404, 'NOT_FOUND');
  });

  it.each([
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Origin: null', { origin: 'null' }],
    ['an unparsable Origin', { origin: '::::' }],
  ])(
    'When a state-changing admin request comes with %s, then it is refused even with credentials',
    async (_label, headers) => {
      const response = await request(
        open.api.baseUrl,
        'PUT',
        '/admin/queues/api/queues/orders/pause',
        {
          headers: { authorization: basic('ops', ADMIN_PASSWORD), ...headers },
        },
      );
      expectProblem(response, 401, 'UNAUTHENTICATED');
    },
  );
});

describe('Secrets stay out of the logs', () => {
  it('When the API runs at debug level and serves authenticated requests, then no token, password or secret appears in any log line', async () => {
    const ctx = await createTestContext();
    const env = {
      ...ctx.env,
      PORT: '0',
      LOG_LEVEL: 'debug',
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD,
      DATA_PLATFORM_SECRET: 'platform-secret-0123456789',
    };
    const api = runBuilt('api/main.js', [], env);
    try {
      const line = await api.waitForLog('api listening');
      const baseUrl = `http://127.0.0.1:${String(line.port)}`;
      const token = await ctx.tokenFor(77);
      await request(baseUrl, 'GET', '/api/balance', { token });
      await request(baseUrl, 'POST', '/api/charges', {
        token,
        body: { amount: 100 },
        headers: { 'idempotency-key': newKey() },
      });
      await request(baseUrl, 'GET', '/api/balance', { token: `${token}x` });
      await request(baseUrl, 'GET', '/admin/queues', {
        headers: { authorization: basic('ops', ADMIN_PASSWORD) },
      });
      await request(baseUrl, 'GET', '/admin/queues', {
        headers: { authorization: basic('ops', 'guess') },
      });
      // Access-log lines are written in batches every 100 ms.
      await new Promise((resolve) => setTimeout(resolve, 400));
      const output = api.stdout() + api.stderr();
      expect(output).toContain('"message":"request"');
      for (const secret of [
        token,
        token.split('.')[2] ?? token,
        ADMIN_PASSWORD,
        'guess',
        ctx.config.jwtSecret,
        env.DATA_PLATFORM_SECRET,
      ]) {
        expect(output).not.toContain(secret);
      }
      expect(output).not.toMatch(/authorization/i);
    } finally {
      await api.stop();
      await ctx.destroy();
    }
  });
});
