import net from 'node:net';

/**
 * How a cut dependency looks to its clients:
 * - `refuse`: nothing listens any more; connects fail at once with ECONNREFUSED (a crashed
 *   server, a restarting container).
 * - `hang`: connects succeed but no byte ever comes back (a network partition, a blackholed
 *   route); only the clients' own timeouts get them out.
 */
export type CutMode = 'refuse' | 'hang';

type State = 'up' | CutMode | 'closed';

/**
 * A TCP forwarder on 127.0.0.1 in front of MariaDB or Redis, so a scenario can take the
 * dependency away from the system under test without touching the real server (which other
 * test files and the scenario's own bookkeeping keep using directly).
 */
export class FaultProxy {
  private state: State = 'up';
  private server: net.Server;
  private listeningPort = 0;
  /** Every socket on either side; cut and restore destroy them all. */
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly targetPort: number,
    private readonly targetHost: string,
  ) {
    this.server = this.createServer();
  }

  /** Listens on an ephemeral loopback port and forwards to `targetHost:targetPort`. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
    const proxy = new FaultProxy(targetPort, targetHost);
    proxy.listeningPort = await listen(proxy.server, 0);
    return proxy;
  }

  /** The loopback port clients connect to; it stays the same across cut and restore. */
  get port(): number {
    return this.listeningPort;
  }

  get isCut(): boolean {
    return this.state === 'refuse' || this.state === 'hang';
  }

  /** Drops every live connection and makes new ones fail the way `mode` says. */
  cut(mode: CutMode): void {
    if (this.state !== 'up') throw new Error(`cannot cut a proxy that is ${this.state}`);
    this.state = mode;
    // Closing the listener releases the port at once; its callback would wait for sockets.
    if (mode === 'refuse') this.server.close();
    this.destroyAll();
  }

  /** Forwards again. Connections held open while hanging are dropped, as a partition would. */
  async restore(): Promise<void> {
    if (this.state === 'up') return;
    if (this.state === 'closed') throw new Error('the proxy is closed');
    const wasRefusing = this.state === 'refuse';
    this.destroyAll();
    if (wasRefusing) {
      this.server = this.createServer();
      await listen(this.server, this.listeningPort);
    }
    this.state = 'up';
  }

  async close(): Promise<void> {
    const wasListening = this.state !== 'refuse' && this.state !== 'closed';
    this.state = 'closed';
    this.destroyAll();
    if (wasListening) {
      await new Promise<void>((resolve) => {
        this.server.close(() => {
          resolve();
        });
      });
    }
  }

  private createServer(): net.Server {
    return net.createServer((socket) => {
      this.accept(socket);
    });
  }

  private accept(client: net.Socket): void {
    if (this.state !== 'up' && this.state !== 'hang') {
      client.destroy();
      return;
    }
    this.track(client);
    // Hanging: the connection stays open and unread until restore() drops it.
    if (this.state === 'hang') return;
    const upstream = net.connect(this.targetPort, this.targetHost);
    this.track(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', drop);
      socket.on('close', drop);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    // A reset peer must not crash the scenario process; `drop` handles forwarded pairs.
    socket.on('error', () => undefined);
  }

  private destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
