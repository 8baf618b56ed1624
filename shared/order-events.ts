import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The order events the data platform receives (see the contract, "Order events to the data
 * platform"): what the outbox stores, how the body is built and how it is signed. Both the
 * workers (sender) and `npm run dev:platform` (receiver) use this module.
 */

export const ORDER_PAID = 'order.paid';

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

export interface OrderPaidEvent {
  eventId: string;
  type: typeof ORDER_PAID;
  occurredAt: string;
  order: OrderPaidPayload;
}

/**
 * The request body, keys in the contract's order. The payload is rebuilt field by field rather
 * than passed through: MySQL's JSON type reorders keys, and unknown keys must not leak out.
 */
export function serializeEvent(event: OrderPaidEvent): string {
  const { order } = event;
  return JSON.stringify({
    eventId: event.eventId,
    type: event.type,
    occurredAt: event.occurredAt,
    order: {
      orderId: order.orderId,
      userId: order.userId,
      items: order.items.map((item) => ({
        productId: item.productId,
        quantity: item.quantity,
        unitPrice: item.unitPrice,
        subtotal: item.subtotal,
      })),
      totalAmount: order.totalAmount,
      paidAt: order.paidAt,
    },
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
