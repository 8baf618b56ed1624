import { setTimeout as sleep } from 'node:timers/promises';
import { createQueues } from '../../shared/queues';
import { expectProblem, request } from '../harness/http';
import { allOf } from '../harness/queues';
import { insertProduct, newKey, usePipelineWorld } from '../harness/pipeline';

// No workers: whatever is accepted stays in the backlog.
const world = usePipelineWorld(
  { ADMISSION_MAX_BACKLOG: '5', ADMISSION_MAX_LAG_MS: '600' },
  { workers: false },
);

const accept = async (path: '/api/orders' | '/api/charges', key = newKey(), quantity = 1) =>
  request<{ orderId?: string }>(world.api.baseUrl, 'POST', path, {
    token: await world.ctx.tokenFor(1),
    body: path === '/api/orders' ? { items: [{ productId: 1, quantity }] } : { amount: 100 },
    headers: { 'idempotency-key': key },
  });

beforeAll(async () => {
  await insertProduct(world.ctx, { id: 1, price: 100, stock: 100 });
});

describe('Admission control', () => {
  it('When the orders backlog passes its limit, then new orders get 503 OVERLOADED with Retry-After, and charges are still accepted', async () => {
    const firstKey = newKey();
    const first = await accept('/api/orders', firstKey);
    expect(first.status).toBe(202);
    // The backlog is counted in the background, not per request: accepts go on until a count
    // past the limit has been read, however many that takes on a slow machine.
    let accepted = 1;
    for (let i = 0; i < 8; i++) {
      const response = await accept('/api/orders');
      if (response.status !== 202) {
        expectProblem(response, 503, 'OVERLOADED');
        break;
      }
      accepted++;
    }
    expect(accepted).toBeGreaterThan(5);
    await sleep(1_200);
    const refused = await accept('/api/orders');
    expectProblem(refused, 503, 'OVERLOADED');
    expect(refused.body).toMatchObject({ detail: expect.stringContaining('backlog') });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await accept('/api/charges')).status).toBe(202);

    // Replays cost no capacity: the first answer again; a reused key is still a 422.
    const replay = await accept('/api/orders', firstKey);
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.orderId).toBe(first.body.orderId);
    expectProblem(await accept('/api/orders', firstKey, 2), 422, 'IDEMPOTENCY_KEY_REUSED');

    // Refused requests left nothing behind: the backlog is what was accepted.
    const { orders, close } = createQueues(
      world.ctx.redis,
      world.ctx.config.redis,
      world.ctx.config.jobs,
      world.ctx.logger,
    );
    try {
      expect(await allOf(orders).getWaitingCount()).toBe(accepted);
    } finally {
      await close();
    }
  });

  it('When the event loop is blocked past its limit, then accepts are refused until it recovers', async () => {
    await sleep(600);
    const blockedUntil = Date.now() + 1_500;
    while (Date.now() < blockedUntil) {
      // Busy-wait: the API shares this event loop, as a saturated process would.
    }
    // The overdue refresh runs first and records the stall.
    await sleep(100);
    expectProblem(await accept('/api/charges'), 503, 'OVERLOADED');
    await sleep(1_200);
    expect((await accept('/api/charges')).status).toBe(202);
  });
});
