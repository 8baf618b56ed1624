import type { OrderCursor, OrdersRepository } from '../../shared/db/repositories/orders';
import type { OrderJob } from '../../shared/queues/orders';
import type { RequestRecords } from '../../shared/requests/records';
import { isFinal, unappliedOrderView, type OrderView } from '../../shared/views';
import { createAcceptPath, type AcceptLimits, type JobSink } from '../accepts/accept-path';
import { readStatus, type JobSource } from '../accepts/status';
import { encodeOrderCursor } from './schemas';

export interface OrdersDeps {
  records: RequestRecords;
  queue: JobSink<OrderJob> & JobSource<OrderJob>;
  /** Replica acknowledgements and the per-user rate limit every accept is held to. */
  limits?: AcceptLimits;
  orders: OrdersRepository;
}

export function createOrdersService({ records, queue, orders, limits }: OrdersDeps) {
  const accepts = createAcceptPath<OrderJob>('order', records, queue, limits);
  return {
    /** Requests per job this process has enqueued lately (see `createAcceptPath`). */
    requestsPerJob: accepts.requestsPerJob,

    /** Whether the user's Idempotency-Key was used before (a request with it replays). */
    isKeyUsed: (userId: number, key: string) => records.isKeyUsed('order', userId, key),

    accept(
      userId: number,
      idempotencyKey: string,
      body: { items: OrderJob['items'] },
      requestId: string,
      refuseNew: boolean,
    ) {
      return accepts.accept({
        userId,
        idempotencyKey,
        body,
        refuseNew,
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
          records,
          queue,
          fromDatabase: (id) => orders.findView(id),
          fromJob: (job, active) => unappliedOrderView(job, active ? 'PROCESSING' : 'PENDING'),
        },
        orderId,
        userId,
      );
    },

    /**
     * The user's orders, newest first: those a worker has recorded (the database) and those
     * accepted but not yet recorded (their Redis status records). Each source gives at most
     * one page past the cursor, so the merged page is exact.
     */
    async list(userId: number, after: OrderCursor | null, limit: number) {
      const [rows, open] = await Promise.all([
        orders.listForUser(userId, after, limit + 1),
        records.openForUser(
          'order',
          userId,
          after && { ms: after.createdAt.getTime(), id: after.id },
          limit + 1,
        ),
      ]);
      const recorded = new Set(rows.map((row) => row.orderId));
      const openIds = open.map((entry) => entry.id);
      const statuses = await records.getMany('order', userId, openIds);
      const pending = statuses.flatMap((record, i) =>
        record && !isFinal(record.status) && !recorded.has(openIds[i] ?? '')
          ? [JSON.parse(record.view) as OrderView]
          : [],
      );
      const merged = [...rows, ...pending].sort(newestFirst);
      const items = merged.slice(0, limit);
      const last = items.at(-1);
      return {
        items,
        nextCursor:
          merged.length > limit && last ? encodeOrderCursor(last.createdAt, last.orderId) : null,
      };
    },
  };
}

/** The order list's keyset order: createdAt, then id, both descending. */
function newestFirst(a: OrderView, b: OrderView): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? 1 : -1;
  return a.orderId < b.orderId ? 1 : a.orderId > b.orderId ? -1 : 0;
}

export type OrdersService = ReturnType<typeof createOrdersService>;
