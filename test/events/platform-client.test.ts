import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { OrderEvent } from '../../shared/order-events';
import { createPlatformClient } from '../../workers/events/platform';

/** A receiver on loopback answering 204 after `delayMs`, counting requests in progress. */
async function slowReceiver(delayMs: number) {
  let open = 0;
  let mostOpen = 0;
  const server = http.createServer((req, res) => {
    open++;
    mostOpen = Math.max(mostOpen, open);
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        open--;
        res.writeHead(204).end();
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/events`,
    mostOpen: () => mostOpen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

const event = (): OrderEvent => ({
  eventId: randomUUID(),
  type: 'order.paid',
  occurredAt: new Date().toISOString(),
  order: { orderId: randomUUID(), userId: 1, items: [], totalAmount: 0, paidAt: '' },
});

describe('The data platform client', () => {
  it('When more events are sent at once than it keeps connections, then at most that many are in flight and each send gets its whole timeout from its turn', async () => {
    // Fourteen sends, two at a time, 200 ms each: the last pair starts after 1.2 s, past the
    // 1 s timeout if it counted from the call; from its turn each has 800 ms to spare.
    const receiver = await slowReceiver(200);
    const client = createPlatformClient({
      url: receiver.url,
      secret: 'test-secret-0123456789',
      timeoutMs: 1_000,
      maxSockets: 2,
    });
    try {
      const answers = await Promise.all(Array.from({ length: 14 }, () => client.send(event())));
      expect(answers).toEqual(Array.from({ length: 14 }, () => ({ ok: true, status: 204 })));
      expect(receiver.mostOpen()).toBe(2);
    } finally {
      client.close();
      await receiver.close();
    }
  });
});
