import { isoTime } from './clock';
import type { CancellationJob } from './queues/cancellations';
import type { ChargeJob } from './queues/charges';
import type { OrderJob } from './queues/orders';

/** What clients see of an order (GET /api/orders/:id); also what Redis keeps for polling. */
export interface OrderView {
  orderId: string;
  userId: number;
  status: OrderStatus;
  items: {
    productId: number;
    quantity: number;
    unitPrice: number | null;
    subtotal: number | null;
  }[];
  totalAmount: number | null;
  failureCode: string | null;
  createdAt: string;
  paidAt: string | null;
  /** When a cancellation made it CANCELLED; null otherwise. */
  cancelledAt: string | null;
  /** What the cancellation refunded: the total for a PAID order, 0 for one never applied. */
  refundedAmount: number | null;
  updatedAt: string;
}

export interface ChargeView {
  chargeId: string;
  userId: number;
  amount: number;
  status: ChargeStatus;
  failureCode: string | null;
  balanceAfter: number | null;
  createdAt: string;
  completedAt: string | null;
}

export type OrderStatus = 'PENDING' | 'PROCESSING' | 'PAID' | 'FAILED' | 'ON_HOLD' | 'CANCELLED';
export type ChargeStatus = 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'FAILED' | 'ON_HOLD';

/**
 * Final states: a request in one is done. FAILED, COMPLETED and CANCELLED never change; PAID
 * changes only to CANCELLED, through a cancellation. ON_HOLD is not final: an operator replays it.
 */
export const FINAL_STATUSES: ReadonlySet<string> = new Set([
  'PAID',
  'FAILED',
  'COMPLETED',
  'CANCELLED',
]);

export function isFinal(status: string): boolean {
  return FINAL_STATUSES.has(status);
}

/**
 * An order not yet applied: items as submitted, prices unknown. `updatedAt` is now, from the
 * shared clock: the accept builds one per order, and a `Date` and its ISO string each time
 * were a visible share of the accept's CPU (load/REPORT.md, "Change: the accept's own steps").
 */
export function unappliedOrderView(
  job: OrderJob,
  status: UnappliedStatus,
  updatedAt: string = isoTime(),
): OrderView {
  return {
    orderId: job.orderId,
    userId: job.userId,
    status,
    items: job.items.map((item) => ({ ...item, unitPrice: null, subtotal: null })),
    totalAmount: null,
    failureCode: null,
    createdAt: job.acceptedAt,
    paidAt: null,
    cancelledAt: null,
    refundedAmount: null,
    updatedAt,
  };
}

export type UnappliedStatus = 'PENDING' | 'PROCESSING' | 'ON_HOLD';

export function unappliedChargeView(job: ChargeJob, status: UnappliedStatus): ChargeView {
  return {
    chargeId: job.chargeId,
    userId: job.userId,
    amount: job.amount,
    status,
    failureCode: null,
    balanceAfter: null,
    createdAt: job.acceptedAt,
    completedAt: null,
  };
}

/**
 * A cancellation request as its records hold it (never shown to clients: they poll the order).
 * COMPLETED once applied, whatever it found: `outcome` is what became of the order.
 */
export interface CancellationView {
  cancellationId: string;
  orderId: string;
  userId: number;
  status: 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'ON_HOLD';
  /** CANCELLED, or FAILED when the order had already failed; null until applied. */
  outcome: 'CANCELLED' | 'FAILED' | null;
  createdAt: string;
  /** The order as the applied cancellation left it (published to the order's record too). */
  order: OrderView | null;
}

export function unappliedCancellationView(
  job: CancellationJob,
  status: UnappliedStatus,
): CancellationView {
  return {
    cancellationId: job.cancellationId,
    orderId: job.orderId,
    userId: job.userId,
    status,
    outcome: null,
    createdAt: job.acceptedAt,
    order: null,
  };
}
