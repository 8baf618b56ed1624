import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { openLoop } from '../../load/bench/open-loop';

// Timing-free: which sockets the open-loop generator opens and uses, not how fast.
describe('The open-loop generator', () => {
  let server: http.Server;
  let url: string;
  /** Connections the server accepted. */
  let accepted = 0;
  /**
   * What the generator's own sockets did, in order: each socket's connection made and each
   * request written, by the socket's number (the order the generator opened them). Seen from
   * the client side on purpose: in one process on a loaded machine the server's accepts lag the
   * client's connects, so the server cannot tell which came first, nor on which socket a
   * request was sent first.
   */
  const steps: { socket: number; step: 'connected' | 'wrote' }[] = [];

  beforeAll(async () => {
    const connect = net.connect.bind(net);
    let sockets = 0;
    jest.spyOn(net, 'connect').mockImplementation(((options: net.NetConnectOpts) => {
      const socket = connect(options);
      const number = sockets++;
      socket.once('connect', () => steps.push({ socket: number, step: 'connected' }));
      const write = socket.write.bind(socket);
      socket.write = (chunk: string) => {
        steps.push({ socket: number, step: 'wrote' });
        return write(chunk);
      };
      return socket;
    }) as typeof net.connect);
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
    server.on('connection', () => accepted++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });

  afterAll(async () => {
    jest.restoreAllMocks();
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
    expect(steps.slice(0, 6).map((s) => s.step)).toEqual(Array(6).fill('connected'));
    expect(steps.filter((s) => s.step === 'connected')).toHaveLength(6);
    expect(accepted).toBe(6);
    // The socket idle longest goes first: none stays idle into a keep-alive timeout.
    const writes = steps.filter((s) => s.step === 'wrote').map((s) => s.socket);
    expect(writes).toHaveLength(result.sent);
    expect(new Set(writes.slice(0, 6))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    expect(new Set(writes)).toEqual(new Set([0, 1, 2, 3, 4, 5]));
    expect(result.sendLagP99Ms).toBeGreaterThan(0);
  });
});
