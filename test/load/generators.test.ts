import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generate, type LoadRun, type Workload } from '../../load/bench/generators';

/**
 * The bench's `wrk` Lua scripts (load/bench/wrk/), run by the real `wrk` against a server that
 * records what it was sent and answers some requests with other statuses than 2xx: every
 * accept has its own Idempotency-Key, the users take turns, and the summary counts the answers
 * by status (autocannon's too). No figure is judged: the runs last a second, whatever the
 * machine.
 */
describe("The bench's load generators", () => {
  const TOKENS = ['token-a', 'token-b', 'token-c'];
  let server: Server;
  let baseUrl: string;
  let seen: { method: string; url: string; key?: string; token?: string; body: string }[] = [];
  /** Statuses sent, by status. */
  let sent: Record<string, number> = {};

  /** Every 5th answer 503, every 7th 429, every 11th 302; the rest 202 (or 200 for a GET). */
  const statusOf = (n: number, method: string) =>
    n % 5 === 0 ? 503 : n % 7 === 0 ? 429 : n % 11 === 0 ? 302 : method === 'GET' ? 200 : 202;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (body += chunk));
      request.on('end', () => {
        const auth = request.headers.authorization;
        const key = request.headers['idempotency-key'];
        seen.push({
          method: request.method ?? '',
          url: request.url ?? '',
          ...(typeof key === 'string' ? { key } : {}),
          ...(auth === undefined ? {} : { token: auth.replace(/^Bearer /, '') }),
          body,
        });
        const status = statusOf(seen.length, request.method ?? '');
        sent[String(status)] = (sent[String(status)] ?? 0) + 1;
        response.writeHead(status, { 'content-type': 'application/json', 'content-length': 2 });
        response.end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });

  beforeEach(() => {
    seen = [];
    sent = {};
  });

  // A generator's last requests may still be on their way when its run resolves: they must not
  // reach the next test's counts.
  afterEach(() => {
    server.closeAllConnections();
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const CONNECTIONS = 4;
  const run = (workload: Workload) =>
    generate('wrk', 'wrk scripts test', workload, { connections: CONNECTIONS, durationS: 1 });

  /**
   * wrk counts the answers it read in full before its time was up: each status's count is at
   * most what the server sent, short by no more than the answers in flight at the end.
   */
  function expectStatusesCounted(result: LoadRun) {
    const non2xxSent = Object.entries(sent).filter(([status]) => !status.startsWith('2'));
    expect(non2xxSent.length).toBe(3);
    for (const [status, count] of non2xxSent) {
      const counted = result.statuses[status] ?? 0;
      expect(counted).toBeGreaterThan(0);
      expect(count - counted).toBeGreaterThanOrEqual(0);
      expect(count - counted).toBeLessThanOrEqual(CONNECTIONS);
    }
    expect(Object.keys(result.statuses).sort()).toEqual(['302', '429', '503']);
    expect(result.non2xx).toBe(Object.values(result.statuses).reduce((a, b) => a + b, 0));
    expect(result.ok + result.non2xx).toBe(result.answered);
    expect(seen.length - result.answered).toBeGreaterThanOrEqual(0);
    expect(seen.length - result.answered).toBeLessThanOrEqual(CONNECTIONS);
  }

  it('When order accepts are driven, then every request has its own key, the users take turns, products stay in range, and other statuses than 2xx are counted by status', async () => {
    const result = await run({
      kind: 'order',
      baseUrl,
      tokens: TOKENS,
      products: 3,
      key: 'wrk-test-order',
    });

    expect(seen.length).toBeGreaterThan(50);
    expect(new Set(seen.map((r) => r.key)).size).toBe(seen.length);
    for (const request of seen) {
      expect(request).toMatchObject({ method: 'POST', url: '/api/orders' });
      expect(request.key).toMatch(/^wrk-test-order-[12]-\d+$/);
      const body = JSON.parse(request.body) as { items: { productId: number; quantity: number }[] };
      expect(body.items).toEqual([{ productId: expect.any(Number) as number, quantity: 1 }]);
      expect(body.items[0]?.productId).toBeGreaterThanOrEqual(1);
      expect(body.items[0]?.productId).toBeLessThanOrEqual(3);
    }
    expect(new Set(seen.map((r) => r.token))).toEqual(new Set(TOKENS));
    expect(new Set(seen.map((r) => r.body)).size).toBe(3);
    expectStatusesCounted(result);
  });

  it('When charge accepts are driven, then every request has its own key and the statuses are counted', async () => {
    const result = await run({ kind: 'charge', baseUrl, tokens: TOKENS, key: 'wrk-test-charge' });

    expect(new Set(seen.map((r) => r.key)).size).toBe(seen.length);
    for (const request of seen) {
      expect(request).toMatchObject({
        method: 'POST',
        url: '/api/charges',
        body: '{"amount":1000}',
      });
    }
    expect(new Set(seen.map((r) => r.token))).toEqual(new Set(TOKENS));
    expectStatusesCounted(result);
  });

  it('When autocannon drives order accepts instead, then its answers are counted by status the same way', async () => {
    const result = await generate(
      'autocannon',
      'autocannon test',
      { kind: 'order', baseUrl, tokens: TOKENS, products: 3, key: 'cannon-test-order' },
      { connections: CONNECTIONS, durationS: 1 },
    );

    expect(new Set(seen.map((r) => r.key)).size).toBe(seen.length);
    expectStatusesCounted(result);
  });

  it('When a GET is driven, then the URL is fetched as given and the statuses are counted', async () => {
    const result = await run({ kind: 'get', url: `${baseUrl}/api/products/7` });

    expect(new Set(seen.map((r) => `${r.method} ${r.url}`))).toEqual(
      new Set(['GET /api/products/7']),
    );
    expectStatusesCounted(result);
  });
});
