import type { OrderJob } from '../shared/queues/orders';
import { unappliedOrderView } from '../shared/views';

const job: OrderJob = {
  orderId: '01a24382-31b1-7614-a220-0a5c47ba479f',
  userId: 42,
  items: [{ productId: 1, quantity: 2 }],
  idempotencyKey: 'k-1',
  requestId: 'r-1',
  acceptedAt: '2026-12-05T00:00:00.000Z',
};

describe('unappliedOrderView', () => {
  it('When no time is given, then it was updated now and was created when accepted, prices unknown', () => {
    const before = Date.now();
    const view = unappliedOrderView(job, 'PENDING');
    const updated = Date.parse(view.updatedAt);
    expect(view.updatedAt).toBe(new Date(updated).toISOString());
    expect(updated).toBeGreaterThanOrEqual(before);
    expect(updated).toBeLessThanOrEqual(Date.now());
    expect(view).toMatchObject({
      orderId: job.orderId,
      status: 'PENDING',
      createdAt: job.acceptedAt,
      items: [{ productId: 1, quantity: 2, unitPrice: null, subtotal: null }],
      totalAmount: null,
    });
  });

  it('When a time is given, then it is the update time', () => {
    const view = unappliedOrderView(job, 'PROCESSING', '2026-12-05T00:00:01.000Z');
    expect(view.updatedAt).toBe('2026-12-05T00:00:01.000Z');
  });
});
