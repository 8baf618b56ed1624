import { setTimeout as sleep } from 'node:timers/promises';
import { createShopClient, type ShopClient } from '../../client';
import { demoCatalog, seedDemoCatalog } from '../../shared/db/seed';
import { checkedFetch } from '../harness/http';
import { usePipelineWorld } from '../harness/pipeline';

/**
 * The README's curl walk-through, step by step, through the typed client generated from
 * docs/openapi.json, against the real API and workers over the demo catalog. Every answer is
 * also checked against the OpenAPI document the API serves (checkedFetch).
 */
const world = usePipelineWorld();
const USER = 42;
let client: ShopClient;

beforeAll(async () => {
  await seedDemoCatalog(world.ctx.sequelize);
  client = createShopClient({
    baseUrl: world.api.baseUrl,
    token: await world.ctx.tokenFor(USER),
    fetch: checkedFetch,
  });
});

const priceOf = (id: number) => {
  const product = demoCatalog.find((p) => p.id === id);
  if (!product) throw new Error(`no demo product ${id}`);
  return product.price;
};

/** Reads a status until it is final, as a client would (sooner than Retry-After says). */
async function untilFinal<T extends { status: string }>(
  read: () => Promise<{ data?: T; response: Response }>,
  final: string[],
): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { data, response } = await read();
    if (!data) throw new Error(`status read answered ${response.status}`);
    if (final.includes(data.status)) {
      expect(response.headers.get('retry-after')).toBeNull();
      return data;
    }
    expect(response.headers.get('retry-after')).toBe('1');
    if (Date.now() > deadline) throw new Error(`still ${data.status} after 20 s`);
    await sleep(25);
  }
}

const ORDER = {
  items: [
    { productId: 1, quantity: 1 },
    { productId: 2, quantity: 2 },
  ],
};

describe('The README walk-through, through the typed client', () => {
  let orderId: string;
  const total = priceOf(1) + 2 * priceOf(2);

  it('When 500,000 is charged and polled, then it is COMPLETED and the balance is 500,000', async () => {
    const accepted = await client.POST('/api/charges', {
      params: { header: { 'Idempotency-Key': 'charge-1' } },
      body: { amount: 500_000 },
    });
    expect(accepted.response.status).toBe(202);
    if (!accepted.data) throw new Error('no 202 body');
    const { chargeId, statusUrl } = accepted.data;
    expect(accepted.data.status).toBe('PENDING');
    expect(accepted.response.headers.get('location')).toBe(statusUrl);

    const charge = await untilFinal(
      () => client.GET('/api/charges/{chargeId}', { params: { path: { chargeId } } }),
      ['COMPLETED', 'FAILED'],
    );
    expect(charge).toEqual(
      expect.objectContaining({
        chargeId,
        userId: USER,
        status: 'COMPLETED',
        balanceAfter: 500_000,
      }),
    );

    const balance = await client.GET('/api/balance');
    expect(balance.data).toEqual(expect.objectContaining({ userId: USER, balance: 500_000 }));
  });

  it('When two products are ordered and polled, then it is PAID at the catalog prices', async () => {
    const accepted = await client.POST('/api/orders', {
      params: { header: { 'Idempotency-Key': 'order-1' } },
      body: ORDER,
    });
    expect(accepted.response.status).toBe(202);
    if (!accepted.data) throw new Error('no 202 body');
    orderId = accepted.data.orderId;
    expect(accepted.response.headers.get('location')).toBe(accepted.data.statusUrl);
    expect(accepted.response.headers.get('idempotent-replayed')).toBeNull();

    const order = await untilFinal(
      () => client.GET('/api/orders/{orderId}', { params: { path: { orderId } } }),
      ['PAID', 'FAILED'],
    );
    expect(order).toEqual(
      expect.objectContaining({
        orderId,
        status: 'PAID',
        totalAmount: total,
        items: [
          { productId: 1, quantity: 1, unitPrice: priceOf(1), subtotal: priceOf(1) },
          { productId: 2, quantity: 2, unitPrice: priceOf(2), subtotal: 2 * priceOf(2) },
        ],
      }),
    );
  });

  it('When the orders are listed and the balance read, then the order is first and was paid for', async () => {
    const orders = await client.GET('/api/orders', { params: { query: { limit: 10 } } });
    expect(orders.data?.items.map((o) => [o.orderId, o.status])).toEqual([[orderId, 'PAID']]);
    expect(orders.data?.nextCursor).toBeNull();

    const balance = await client.GET('/api/balance');
    expect(balance.data?.balance).toBe(500_000 - total);
  });

  it('When the same POST is sent again, then the first answer is replayed and nothing is charged twice', async () => {
    const replay = await client.POST('/api/orders', {
      params: { header: { 'Idempotency-Key': 'order-1' } },
      // Key order does not matter: the body is compared as JSON.
      body: { items: ORDER.items.map(({ quantity, productId }) => ({ quantity, productId })) },
    });
    expect(replay.response.status).toBe(202);
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.data?.orderId).toBe(orderId);
    expect((await client.GET('/api/balance')).data?.balance).toBe(500_000 - total);
  });

  it('When the same key comes with a different body, then it answers 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const reused = await client.POST('/api/orders', {
      params: { header: { 'Idempotency-Key': 'order-1' } },
      body: { items: [{ productId: 1, quantity: 2 }] },
    });
    expect(reused.response.status).toBe(422);
    expect(reused.error).toEqual(expect.objectContaining({ code: 'IDEMPOTENCY_KEY_REUSED' }));
    expect(reused.data).toBeUndefined();
  });

  it('When the order is cancelled and polled, then it is CANCELLED, refunded in full, and the balance is 500,000 again', async () => {
    const accepted = await client.POST('/api/orders/{orderId}/cancel', {
      params: { path: { orderId }, header: { 'Idempotency-Key': 'cancel-1' } },
    });
    expect(accepted.response.status).toBe(202);
    expect(accepted.data).toEqual({ orderId, status: 'PAID', statusUrl: `/api/orders/${orderId}` });

    // PAID is final too (no Retry-After): a client polls the order until it shows CANCELLED.
    let order = (await client.GET('/api/orders/{orderId}', { params: { path: { orderId } } })).data;
    for (const deadline = Date.now() + 20_000; order?.status !== 'CANCELLED';) {
      if (Date.now() > deadline) throw new Error(`still ${String(order?.status)} after 20 s`);
      await sleep(25);
      order = (await client.GET('/api/orders/{orderId}', { params: { path: { orderId } } })).data;
    }
    expect(order).toEqual(
      expect.objectContaining({ status: 'CANCELLED', refundedAmount: total, totalAmount: total }),
    );
    expect((await client.GET('/api/balance')).data?.balance).toBe(500_000);
  });
});
