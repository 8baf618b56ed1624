import { expectProblem, request } from '../harness/http';
import { insertProduct, newKey, submitCharge, submitOrder } from '../harness/pipeline';
import { useApiWorld } from '../harness/context';

/**
 * REDIS_MIN_REPLICAS_ACK on a Redis without replicas (the suite's single Redis): no accept can
 * be acknowledged, so every one answers 503 with Retry-After, the key stays claimed for the
 * retry, and the refusals are counted. (On a cluster with replicas: the failover chaos suite.)
 */
const world = useApiWorld({ REDIS_MIN_REPLICAS_ACK: '1', REDIS_REPLICA_ACK_TIMEOUT_MS: '50' });

async function refusals(): Promise<number> {
  const metrics = await fetch(`${world.api.baseUrl}/metrics`).then((r) => r.text());
  const line = /^shop_redis_replica_ack_failures_total\{[^}]*\} (\d+)/m.exec(metrics);
  return Number(line?.[1] ?? Number.NaN);
}

describe('Replica-acknowledged accepts without a replica', () => {
  it('When no replica acknowledges an order, then it answers 503 SERVICE_UNAVAILABLE with Retry-After and the refusal is counted', async () => {
    const { ctx, api } = world;
    await insertProduct(ctx, { id: 1, price: 100, stock: 10 });
    const token = await ctx.tokenFor(7_001);
    const before = await refusals();
    const key = newKey('order');
    const response = await request(api.baseUrl, 'POST', '/api/orders', {
      token,
      body: { items: [{ productId: 1, quantity: 1 }] },
      headers: { 'idempotency-key': key },
    });
    const problem = expectProblem(response, 503, 'SERVICE_UNAVAILABLE');
    expect(problem.detail).toMatch(/replicas did not acknowledge/);
    expect(response.headers.get('retry-after')).toBe('1');
    // The key stays claimed: the retry is a replay of the same request, refused the same way.
    const retry = await submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }], key);
    expect(retry.status).toBe(503);
    expect(await refusals()).toBeGreaterThanOrEqual(before + 2);
  });

  it('When no replica acknowledges a charge, then it answers 503 as well', async () => {
    const token = await world.ctx.tokenFor(7_002);
    expect((await submitCharge(world.api.baseUrl, token, 1_000)).status).toBe(503);
  });
});
