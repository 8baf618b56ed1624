import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openLoop } from '../../load/bench/open-loop';

// Timing-free: which sockets the open-loop generator opens and uses, not how fast.
describe('The open-loop generator', () => {
  let server: http.Server;
  let url: string;
  /** Sockets opened, in order, and for each request the socket (by its number) it came on. */
  const opened: object[] = [];
  const requests: number[] = [];
  let openedBeforeFirstRequest = -1;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (openedBeforeFirstRequest < 0) openedBeforeFirstRequest = opened.length;
      requests.push(opened.indexOf(req.socket));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
    server.on('connection', (socket) => opened.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('When it runs, then every socket is open before the first request and each is used in turn', async () => {
    const result = await openLoop({
      baseUrl: url,
      rate: 200,
      durationS: 0.3,
      connections: 6,
      request: () => 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    });

    expect(result.sent).toBeGreaterThanOrEqual(30);
    expect(result.ok).toBe(result.sent);
    expect(result.errors + result.non2xx + result.unsent).toBe(0);
    // Opening a socket is not what is measured: all of them before the clock starts.
    expect(openedBeforeFirstRequest).toBe(6);
    expect(opened).toHaveLength(6);
    // The socket idle longest goes first: none stays idle into a keep-alive timeout.
    expect(new Set(requests.slice(0, 6))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    expect(new Set(requests)).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    expect(result.sendLagP99Ms).toBeGreaterThan(0);
  });
});
