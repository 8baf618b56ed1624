import { readFileSync } from 'node:fs';
import net from 'node:net';

/** Ports below this are left alone: the well-known ones and what servers here listen on. */
const FLOOR = 10_000;

/** The lowest source port the kernel gives outgoing connections (Linux; else the default). */
function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/);
    const parsed = Number(low);
    return Number.isInteger(parsed) && parsed > 0 ? parsed : 32_768;
  } catch {
    return 32_768;
  }
}

/** Binds `port` on loopback and releases it; its number when that worked. */
async function bindable(port: number): Promise<number | undefined> {
  const server = net.createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => {
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => {
      resolve(true);
    });
  });
  const address = server.address();
  if (bound) {
    await new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
  }
  return bound && typeof address === 'object' && address !== null ? address.port : undefined;
}

/**
 * A free loopback port (bound, read and released: the caller binds it right after), chosen
 * below the kernel's range of source ports for outgoing connections. A server a test kills
 * and starts again on the same port must find it free, and a port in that range can be taken
 * meanwhile by any outgoing connection — even by a client reconnecting to the dead server,
 * which then connects to itself (a TCP self-connect) and holds the port.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let tries = 0; low > FLOOR && tries < 200; tries++) {
    const port = await bindable(FLOOR + Math.floor(Math.random() * (low - FLOOR)));
    if (port !== undefined) return port;
  }
  const any = await bindable(0);
  if (any === undefined) throw new Error('no free loopback port');
  return any;
}
