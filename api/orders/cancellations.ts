import type { OrdersRepository } from '../../shared/db/repositories/orders';
import { AppError } from '../../shared/errors';
import { UUID_PATTERN } from '../../shared/ids';
import type { CancellationJob } from '../../shared/queues/cancellations';
import type { OrderJob } from '../../shared/queues/orders';
import type { RequestRecords } from '../../shared/requests/records';
import { isFinal, unappliedCancellationView, type OrderView } from '../../shared/views';
import {
  createAcceptPath,
  type AcceptLimits,
  type AcceptOutcome,
  type JobSink,
} from '../accepts/accept-path';
import type { JobSource } from '../accepts/status';

export interface CancellationsDeps {
  records: RequestRecords;
  queue: JobSink<CancellationJob>;
  /** Where an order not recorded yet may still be: its job (alone, with the order's id). */
  orderJobs: JobSource<OrderJob>;
  orders: OrdersRepository;
  limits?: AcceptLimits;
  /** `ORDER_CANCEL_WINDOW_H`: a PAID order may be cancelled this long after it was paid. */
  windowH: number;
}

/** The order a cancellation is for, as the API finds it at the accept. */
interface FoundOrder {
  view: OrderView;
  /** What the worker records if the order is still not applied when it gets there. */
  snapshot: CancellationJob['order'];
}

/**
 * `POST /api/orders/:orderId/cancel`: a request of its own kind (`cancel`), accepted like
 * orders and charges — idempotency key, rate limit, admission, micro-batched per partition —
 * and applied by the cancellation worker. The API refuses what can never be cancelled (404,
 * 409 ORDER_NOT_CANCELLABLE); its answer (202) carries the order's status when it was
 * accepted, and a replay gets that first answer again, whatever the order became since.
 */
export function createCancellationsService(deps: CancellationsDeps) {
  const accepts = createAcceptPath<CancellationJob>(
    'cancel',
    deps.records,
    deps.queue,
    deps.limits,
  );

  /**
   * The order, wherever it is now, cheapest source first (as status reads): its Redis record,
   * else its row, else its job. Null: no such order of this user. A record not final yet gives
   * the snapshot the worker needs if the order is still unapplied when it gets there (if it was
   * applied meanwhile, the worker finds the row and goes by that): an accept reads no database.
   */
  async function findOrder(userId: number, orderId: string): Promise<FoundOrder | null> {
    if (!UUID_PATTERN.test(orderId)) return null;
    const record = await deps.records.get('order', userId, orderId);
    const recorded = record ? (JSON.parse(record.view) as OrderView) : null;
    if (recorded && recorded.userId !== userId) return null;
    if (recorded && isFinal(recorded.status)) return { view: recorded, snapshot: null };
    if (recorded && record?.key) {
      const snapshot = {
        idempotencyKey: record.key,
        items: recorded.items.map(({ productId, quantity }) => ({ productId, quantity })),
        acceptedAt: recorded.createdAt,
      };
      return { view: recorded, snapshot };
    }
    const stored = await deps.orders.findView(orderId);
    if (stored) return stored.userId === userId ? { view: stored, snapshot: null } : null;
    const job = await deps.orderJobs.forUser(userId).getJob(orderId);
    const data = job?.data;
    if (!data || 'requests' in data || data.userId !== userId) return null;
    const view = recorded ?? {
      orderId,
      userId,
      status: 'PENDING',
      items: data.items.map((i) => ({ ...i, unitPrice: null, subtotal: null })),
      totalAmount: null,
      failureCode: null,
      createdAt: data.acceptedAt,
      paidAt: null,
      cancelledAt: null,
      refundedAmount: null,
      updatedAt: data.acceptedAt,
    };
    const snapshot = {
      idempotencyKey: data.idempotencyKey,
      items: data.items,
      acceptedAt: data.acceptedAt,
    };
    return { view, snapshot };
  }

  /** 404 or 409 for an order that cannot be cancelled; else the order. */
  async function cancellable(userId: number, orderId: string): Promise<FoundOrder> {
    const found = await findOrder(userId, orderId);
    if (!found) throw new AppError('ORDER_NOT_FOUND');
    const { view } = found;
    if (view.status === 'FAILED') {
      throw new AppError('ORDER_NOT_CANCELLABLE', {
        detail: 'The order failed: nothing was taken',
      });
    }
    const windowMs = deps.windowH * 3_600_000;
    if (view.status === 'PAID' && view.paidAt && Date.now() - Date.parse(view.paidAt) > windowMs) {
      throw new AppError('ORDER_NOT_CANCELLABLE', {
        detail: `The order was paid more than ${String(deps.windowH)} h ago`,
      });
    }
    return found;
  }

  return {
    /** Requests per job this process has enqueued lately (see `createAcceptPath`). */
    requestsPerJob: accepts.requestsPerJob,

    /**
     * Accepts a cancellation of the user's order. A key used before is a replay (or a reuse,
     * 422) and gets its first answer, whatever the order became since.
     */
    async cancel(
      userId: number,
      orderId: string,
      idempotencyKey: string,
      requestId: string,
      refuseNew: boolean,
    ): Promise<AcceptOutcome> {
      const replay = await deps.records.isKeyUsed('cancel', userId, idempotencyKey);
      // A replay is not judged again, but still finds the order: if the first accept never
      // enqueued its job (its process died, or Redis did, in between), the replay enqueues one,
      // and that job must describe an order the workers have not applied yet.
      const found = replay ? await findOrder(userId, orderId) : await cancellable(userId, orderId);
      return accepts.accept({
        userId,
        idempotencyKey,
        body: { orderId },
        refuseNew,
        answer: found?.view.status ?? '',
        makeJob: (cancellationId, acceptedAt): CancellationJob => ({
          cancellationId,
          orderId,
          userId,
          idempotencyKey,
          requestId,
          acceptedAt,
          order: found?.snapshot ?? null,
        }),
        pendingView: (job) => unappliedCancellationView(job, 'PENDING'),
      });
    },
  };
}

export type CancellationsService = ReturnType<typeof createCancellationsService>;
