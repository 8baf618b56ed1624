import {
  EVENT_ID_HEADER,
  ORDER_PAID,
  SIGNATURE_HEADER,
  serializeEvent,
  signBody,
  type OrderEvent,
} from '../../shared/order-events';
import { uuidv7 } from '../../shared/ids';
import { messageOf } from '../../shared/infra-errors';
import { createPlatformClient } from '../../workers/events/platform';
import { startStandInPlatform } from './delivery';

/**
 * CPU per event POST of the events worker's platform client against `fetch`, the client it
 * replaced, in the same process and the same run (`node dist/load/bench/platform-client.js
 * [posts per round]`). The receiver (the bench's stand-in data platform, `delivery.ts`) runs in
 * a process of its own, so this process's CPU time (`process.cpuUsage`) is the client's alone.
 * Eight POSTs in flight, as the events worker's default concurrency; three rounds, the two
 * clients alternated.
 */
const IN_FLIGHT = 8;
const ROUNDS = 3;
const SECRET = 'bench-platform-secret-0123456789';

function event(): OrderEvent {
  const paidAt = new Date().toISOString();
  return {
    eventId: uuidv7(),
    type: ORDER_PAID,
    occurredAt: paidAt,
    order: {
      orderId: uuidv7(),
      userId: 42,
      items: [{ productId: 1, quantity: 1, unitPrice: 1_000, subtotal: 1_000 }],
      totalAmount: 1_000,
      paidAt,
    },
  };
}

/** The client before this one, as it was: `fetch` with the same headers and timeout. */
async function viaFetch(url: string, e: OrderEvent): Promise<boolean> {
  const body = serializeEvent(e);
  const response = await fetch(url, {
    method: 'POST',
    body,
    headers: {
      'Content-Type': 'application/json',
      [EVENT_ID_HEADER]: e.eventId,
      [SIGNATURE_HEADER]: signBody(SECRET, body),
    },
    redirect: 'manual',
    signal: AbortSignal.timeout(5_000),
  });
  await response.body?.cancel().catch(() => undefined);
  return response.status === 204;
}

/** CPU µs of this process per POST, `posts` of them, {@link IN_FLIGHT} at a time. */
async function measure(posts: number, send: (e: OrderEvent) => Promise<boolean>) {
  let next = 0;
  let failed = 0;
  const before = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < posts) {
        next++;
        if (!(await send(event()))) failed++;
      }
    }),
  );
  const used = process.cpuUsage(before);
  if (failed > 0) throw new Error(`${failed} POSTs not answered 204`);
  return {
    usPerPost: (used.user + used.system) / posts,
    perSecond: posts / ((performance.now() - started) / 1_000),
  };
}

async function main(): Promise<void> {
  const posts = Number(process.argv[2] ?? 20_000);
  const platform = await startStandInPlatform();
  const url = platform.url;
  const client = createPlatformClient({
    url,
    secret: SECRET,
    timeoutMs: 5_000,
    maxSockets: IN_FLIGHT,
  });
  try {
    // Warm-up, not counted: both clients' first requests pay for compilation and connecting.
    await measure(2_000, (e) => viaFetch(url, e));
    await measure(2_000, async (e) => (await client.send(e)).ok);
    const ratios: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const fetched = await measure(posts, (e) => viaFetch(url, e));
      const ours = await measure(posts, async (e) => (await client.send(e)).ok);
      ratios.push(ours.usPerPost / fetched.usPerPost);
      process.stdout.write(
        `round ${round}: fetch ${fetched.usPerPost.toFixed(0)} µs per POST (${fetched.perSecond.toFixed(0)}/s), ` +
          `platform client ${ours.usPerPost.toFixed(0)} µs (${ours.perSecond.toFixed(0)}/s), ` +
          `${ratios.at(-1)?.toFixed(2) ?? ''}×\n`,
      );
    }
    ratios.sort((a, b) => a - b);
    process.stdout.write(
      `platform client ÷ fetch, CPU per POST: median ${(ratios[1] ?? NaN).toFixed(2)}× of ${ROUNDS} rounds\n`,
    );
  } finally {
    client.close();
    await platform.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${messageOf(error)}\n`);
  process.exitCode = 1;
});
