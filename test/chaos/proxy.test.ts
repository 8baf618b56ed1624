import net from 'node:net';
import { FaultProxy } from '../harness/fault-proxy';

/**
 * What a client sees of one connection: the echo, an error code, or silence — nothing within
 * `timeoutMs`. An answer ends the wait at once, so the default is long: a loaded machine
 * once took over 300 ms to bring the first echo through. Where silence is the expected
 * outcome, the tests wait {@link SILENCE_MS}.
 */
function exchange(port: number, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      done('silence');
    }, timeoutMs);
    socket.on('connect', () => socket.write('ping'));
    socket.on('data', (data: Buffer) => {
      done(data.toString());
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      done(error.code ?? 'error');
    });
    socket.on('close', () => {
      done('closed');
    });
  });
}

/** How long a hanging proxy must stay silent. */
const SILENCE_MS = 300;

describe('The chaos fault proxy', () => {
  let echo: net.Server;
  let proxy: FaultProxy;

  beforeAll(async () => {
    echo = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    proxy = await FaultProxy.start((echo.address() as net.AddressInfo).port);
  });

  afterAll(async () => {
    await proxy.close();
    await new Promise((resolve) => echo.close(resolve));
  });

  it('When it is up, then bytes go through both ways', async () => {
    expect(await exchange(proxy.port)).toBe('ping');
  });

  it('When it is cut in refuse mode, then connects are refused, and after restore they work on the same port', async () => {
    proxy.cut('refuse');
    expect(await exchange(proxy.port)).toBe('ECONNREFUSED');
    await proxy.restore();
    expect(await exchange(proxy.port)).toBe('ping');
  });

  it('When it is cut in hang mode, then connects succeed but nothing comes back until restore', async () => {
    proxy.cut('hang');
    expect(await exchange(proxy.port, SILENCE_MS)).toBe('silence');
    await proxy.restore();
    expect(await exchange(proxy.port)).toBe('ping');
  });

  it('When it is cut, then live connections are dropped', async () => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    await new Promise((resolve) => socket.on('connect', resolve));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('error', () => undefined);
    proxy.cut('hang');
    await closed;
    await proxy.restore();
  });
});
