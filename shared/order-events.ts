import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The order events the data platform receives (see the contract, "Order events to the data
 * platform"): what the outbox stores, how the body is built and how it is signed. Both the
 * workers (sender) and `npm run dev:platform` (receiver) use this module.
 */

export const ORDER_PAID = 'order.paid';
export const ORDER_CANCELLED = 'order.cancelled';

export const EVENT_ID_HEADER = 'X-Event-Id';
export const SIGNATURE_HEADER = 'X-Signature';

/** The `order` part of an order.paid event, as the outbox row's payload stores it. */
export const orderPaidPayloadSchema = z.object({
  orderId: z.string(),
  userId: z.number().int(),
  items: z.array(
    z.object({
      productId: z.number().int(),
      quantity: z.number().int(),
      unitPrice: z.number().int(),
      subtotal: z.number().int(),
    }),
  ),
  totalAmount: z.number().int(),
  paidAt: z.string(),
});

export type OrderPaidPayload = z.infer<typeof orderPaidPayloadSchema>;

/** The `order` part of an order.cancelled event: the paid order and its refund. */
export const orderCancelledPayloadSchema = orderPaidPayloadSchema.extend({
  refundedAmount: z.number().int(),
  cancelledAt: z.string(),
});

export type OrderCancelledPayload = z.infer<typeof orderCancelledPayloadSchema>;

export type OrderEvent =
  | { eventId: string; type: typeof ORDER_PAID; occurredAt: string; order: OrderPaidPayload }
  | {
      eventId: string;
      type: typeof ORDER_CANCELLED;
      occurredAt: string;
      order: OrderCancelledPayload;
    };

/** A stored event's type and payload as a typed event, or why it cannot be one. */
export function parseStoredEvent(
  eventId: string,
  type: string,
  occurredAt: string,
  payload: unknown,
): OrderEvent | { invalid: string } {
  if (type === ORDER_PAID) {
    const order = orderPaidPayloadSchema.safeParse(payload);
    return order.success
      ? { eventId, type, occurredAt, order: order.data }
      : { invalid: 'invalid payload' };
  }
  if (type === ORDER_CANCELLED) {
    const order = orderCancelledPayloadSchema.safeParse(payload);
    return order.success
      ? { eventId, type, occurredAt, order: order.data }
      : { invalid: 'invalid payload' };
  }
  return { invalid: `unknown type ${type}` };
}

/**
 * The request body, keys in the contract's order. The payload is rebuilt field by field rather
 * than passed through: MySQL's JSON type reorders keys, and unknown keys must not leak out.
 */
export function serializeEvent(event: OrderEvent): string {
  const { order } = event;
  const items = order.items.map((item) => ({
    productId: item.productId,
    quantity: item.quantity,
    unitPrice: item.unitPrice,
    subtotal: item.subtotal,
  }));
  const head = {
    orderId: order.orderId,
    userId: order.userId,
    items,
    totalAmount: order.totalAmount,
  };
  return JSON.stringify({
    eventId: event.eventId,
    type: event.type,
    occurredAt: event.occurredAt,
    order:
      event.type === ORDER_CANCELLED
        ? {
            ...head,
            refundedAmount: event.order.refundedAmount,
            paidAt: order.paidAt,
            cancelledAt: event.order.cancelledAt,
          }
        : { ...head, paidAt: order.paidAt },
  });
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, the X-Signature header's value. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Does `header` sign `body` with `secret`? Compared in constant time, so a caller cannot learn
 * the right signature byte by byte from response times.
 */
export function verifySignature(
  secret: string,
  body: string | Buffer,
  header: string | undefined,
): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
