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

export type OrderStatus = 'PENDING' | 'PROCESSING' | 'PAID' | 'FAILED' | 'ON_HOLD';
export type ChargeStatus = 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'FAILED' | 'ON_HOLD';

/** Final states never change. ON_HOLD is not final: an operator replays it. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['PAID', 'FAILED', 'COMPLETED']);

export function isFinal(status: string): boolean {
  return FINAL_STATUSES.has(status);
}

/** An order not yet applied: items as submitted, prices unknown. */
export function unappliedOrderView(
  job: OrderJob,
  status: UnappliedStatus,
  now: Date = new Date(),
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
    updatedAt: now.toISOString(),
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
