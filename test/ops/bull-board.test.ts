import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { expectProblem, request } from '../harness/http';

const PASSWORD = 'operator-password-123';
const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

async function world(overrides: Record<string, string>) {
  const ctx = await createTestContext({ ADMIN_PASSWORD: PASSWORD, ...overrides });
  return { ctx, api: await startApi(ctx) };
}

describe('Bull Board at /admin/queues', () => {
  let writable: { ctx: TestContext; api: RunningApi };
  let readOnly: { ctx: TestContext; api: RunningApi };

  beforeAll(async () => {
    writable = await world({});
    readOnly = await world({ ADMIN_READ_ONLY: 'true' });
  });

  afterAll(async () => {
    for (const w of [writable, readOnly]) {
      await w.api.close();
      await w.ctx.destroy();
    }
  });

  it('When an operator signs in, then the board opens and lists every queue', async () => {
    const page = await request(writable.api.baseUrl, 'GET', '/admin/queues', { headers: auth });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const queues = await request<{ queues: { name: string; readOnlyMode: boolean }[] }>(
      writable.api.baseUrl,
      'GET',
      '/admin/queues/api/queues',
      { headers: auth },
    );
    expect(queues.body.queues.map((q) => q.name).sort()).toEqual([
      'cancellations',
      'charges',
      'events',
      'orders',
    ]);
    expect(queues.body.queues.every((q) => !q.readOnlyMode)).toBe(true);
  });

  it('When nobody signs in, then the board and its API answer 401', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      expectProblem(await request(writable.api.baseUrl, 'GET', path), 401, 'UNAUTHENTICATED');
    }
  });

  it('When an operator pauses a queue from the same origin, then it is paused; from another site, it is refused', async () => {
    const pause = '/admin/queues/api/queues/orders/pause';
    const foreign = await request(writable.api.baseUrl, 'PUT', pause, {
      headers: { ...auth, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
    });
    expectProblem(foreign, 401, 'UNAUTHENTICATED');
    const queues = () =>
      request<{ queues: { name: string; isPaused: boolean }[] }>(
        writable.api.baseUrl,
        'GET',
        '/admin/queues/api/queues',
        {
          headers: auth,
        },
      );
    expect((await queues()).body.queues.find((q) => q.name === 'orders')?.isPaused).toBe(false);
    const local = await request(writable.api.baseUrl, 'PUT', pause, {
      headers: { ...auth, 'sec-fetch-site': 'same-origin' },
    });
    expect(local.status).toBe(200);
    expect((await queues()).body.queues.find((q) => q.name === 'orders')?.isPaused).toBe(true);
    await request(writable.api.baseUrl, 'PUT', '/admin/queues/api/queues/orders/resume', {
      headers: auth,
    });
  });

  it('When the board is read-only, then it shows the queues but refuses every action', async () => {
    const queues = await request<{ queues: { readOnlyMode: boolean }[] }>(
      readOnly.api.baseUrl,
      'GET',
      '/admin/queues/api/queues',
      {
        headers: auth,
      },
    );
    expect(queues.body.queues.every((q) => q.readOnlyMode)).toBe(true);
    for (const action of ['pause', 'clean/completed', 'retry/failed']) {
      const response = await request(
        readOnly.api.baseUrl,
        'PUT',
        `/admin/queues/api/queues/orders/${action}`,
        { headers: auth },
      );
      expect(response.status).toBe(405);
    }
  });
});
