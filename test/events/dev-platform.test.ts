import { loadConfig } from '../../shared/config';
import { fund, insertProduct, submitOrder, waitForFinal } from '../harness/pipeline';
import { runBuilt, type RunningProcess } from '../harness/process';
import { expectedSignature, startEventWorkers, useEventsWorld, waitDelivered } from './support';

const SECRET = 'dev-platform-test-secret-0123';

// The world's own workers stay unconfigured: only the ones pointed at the dev receiver deliver.
const world = useEventsWorld({ configured: false });
let platform: RunningProcess;
let url: string;

beforeAll(async () => {
  platform = runBuilt('cli/dev-platform.js', [], {
    PATH: process.env.PATH ?? '',
    DEV_PLATFORM_PORT: '0',
    DATA_PLATFORM_SECRET: SECRET,
  });
  url = String((await platform.waitForLog('dev platform listening')).url);
  await insertProduct(world.ctx, { id: 1, price: 250, stock: 10 });
});

afterAll(async () => {
  await platform.stop();
});

const post = (body: string, signature: string) =>
  fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'x-event-id': 'e-1', 'x-signature': signature },
  });

describe('npm run dev:platform', () => {
  it('When an event is signed with DATA_PLATFORM_SECRET, then it answers 204 and logs the event as a JSON line', async () => {
    const body = JSON.stringify({ eventId: 'e-1', type: 'order.paid' });
    const response = await post(body, expectedSignature(body, SECRET));
    expect(response.status).toBe(204);
    const line = await platform.waitForLog('event received');
    expect(line).toMatchObject({ eventId: 'e-1', event: { type: 'order.paid' } });
  });

  it.each([
    [
      'signed with another secret',
      (body: string) => expectedSignature(body, 'another-secret-0123456'),
    ],
    ['signed over a different body', () => expectedSignature('{}', SECRET)],
    ['not signed at all', () => ''],
    ['a truncated signature', (body: string) => expectedSignature(body, SECRET).slice(0, -2)],
  ])('When the event is %s, then it answers 401', async (_label, sign) => {
    const body = JSON.stringify({ eventId: 'e-2' });
    expect((await post(body, sign(body))).status).toBe(401);
  });

  it('When workers deliver to it, then it verifies and logs every PAID order event', async () => {
    const config = loadConfig({
      ...world.ctx.env,
      DATA_PLATFORM_URL: url,
      DATA_PLATFORM_SECRET: SECRET,
    });
    const workers = await startEventWorkers(world.ctx, config);
    try {
      const token = await world.ctx.tokenFor(801);
      await fund(world.api.baseUrl, token, 1_000);
      const submitted = await submitOrder(world.api.baseUrl, token, [
        { productId: 1, quantity: 2 },
      ]);
      await waitForFinal(world.api.baseUrl, token, submitted.statusUrl);
      const [row] = await waitDelivered(world.ctx, [submitted.id]);
      const logged = platform
        .logs()
        .find((line) => line.message === 'event received' && line.eventId === row?.id);
      expect(logged).toMatchObject({
        redelivery: false,
        event: { type: 'order.paid', order: { orderId: submitted.id, totalAmount: 500 } },
      });
    } finally {
      await workers.close();
    }
  });
});
