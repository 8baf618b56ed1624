import type { OrderCursor, OrdersRepository } from '../../shared/db/repositories/orders';
import type { OrderJob } from '../../shared/queues/orders';
import type { TrackingStore } from '../../shared/tracking/store';
import { unappliedOrderView } from '../../shared/views';
import { createAcceptPath, type JobSink } from '../pipeline/accept';
import { readStatus, type JobSource } from '../pipeline/status';
import { encodeOrderCursor } from './schemas';

export interface OrdersDeps {
  tracking: TrackingStore;
  queue: JobSink<OrderJob> & JobSource<OrderJob>;
  orders: OrdersRepository;
}

export function createOrdersService({ tracking, queue, orders }: OrdersDeps) {
  const accepts = createAcceptPath<OrderJob>('order', tracking, queue);
  return {
    /** Requests per job this process has enqueued lately (see `createAcceptPath`). */
    requestsPerJob: accepts.requestsPerJob,

    accept(
      userId: number,
      idempotencyKey: string,
      body: { items: OrderJob['items'] },
      requestId: string,
    ) {
      return accepts.accept({
        userId,
        idempotencyKey,
        body,
        makeJob: (orderId, acceptedAt): OrderJob => ({
          orderId,
          userId,
          items: body.items,
          idempotencyKey,
          requestId,
          acceptedAt,
        }),
        pendingView: (job) => unappliedOrderView(job, 'PENDING'),
      });
    },

    status(userId: number, orderId: string) {
      return readStatus(
        {
          kind: 'order',
          tracking,
          queue,
          fromDatabase: (id) => orders.findView(id),
          fromJob: (job, active) => unappliedOrderView(job, active ? 'PROCESSING' : 'PENDING'),
        },
        orderId,
        userId,
      );
    },

    /** Orders a worker has recorded, newest first. */
    async list(userId: number, after: OrderCursor | null, limit: number) {
      const rows = await orders.listForUser(userId, after, limit + 1);
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return {
        items,
        nextCursor:
          rows.length > limit && last ? encodeOrderCursor(last.createdAt, last.orderId) : null,
      };
    },
  };
}

export type OrdersService = ReturnType<typeof createOrdersService>;
