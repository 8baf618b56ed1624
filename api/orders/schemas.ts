import { z } from 'zod';
import { isObjectWithin, limitQuery } from '../http/schemas';
import { MAX_ITEM_QUANTITY, MAX_ORDER_ITEMS } from '../../shared/queues/orders';

const safeId = z
  .number()
  .int('must be an integer')
  .positive('must be a positive integer')
  .max(Number.MAX_SAFE_INTEGER, 'is too large');

export const placeOrderBody = z
  .strictObject({
    items: z
      .array(
        z.strictObject({
          productId: safeId,
          quantity: z.number().int('must be an integer').min(1).max(MAX_ITEM_QUANTITY),
        }),
      )
      .min(1)
      .max(MAX_ORDER_ITEMS),
  })
  .superRefine((body, ctx) => {
    const seen = new Set<number>();
    body.items.forEach((item, index) => {
      if (seen.has(item.productId)) {
        ctx.addIssue({
          code: 'custom',
          path: ['items', index, 'productId'],
          message: 'repeats a productId already in the order',
        });
      }
      seen.add(item.productId);
    });
  })
  .meta({
    id: 'PlaceOrder',
    description: 'An order: 1..50 items, quantity 1..100, each productId at most once.',
  });

export type PlaceOrder = z.output<typeof placeOrderBody>;

const ORDER_KEYS = ['items'];
const ITEM_KEYS = ['productId', 'quantity'];

/**
 * The order body nearly every client sends, recognised without the schema: 1..50 items of
 * exactly a `productId` (a positive safe integer, none twice) and a `quantity` (1..100).
 * Answers what {@link placeOrderBody} parses it to (the same keys, in the same order), or
 * undefined for anything else — which the schema then parses and words the 400 for. It only
 * ever answers a body the schema accepts: `test/api/usual-bodies.test.ts` checks the two
 * against each other on generated valid and hostile bodies. Why: zod's parse was about a
 * tenth of an accept's CPU (load/REPORT.md, "Change: the usual body without zod").
 */
export function usualOrderBody(json: unknown): PlaceOrder | undefined {
  if (!isObjectWithin(json, ORDER_KEYS)) return undefined;
  const { items } = json;
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_ORDER_ITEMS) {
    return undefined;
  }
  const parsed: PlaceOrder['items'] = [];
  for (const item of items as unknown[]) {
    if (!isObjectWithin(item, ITEM_KEYS)) return undefined;
    const { productId, quantity } = item;
    if (typeof productId !== 'number' || !Number.isSafeInteger(productId) || productId < 1) {
      return undefined;
    }
    if (typeof quantity !== 'number' || !Number.isInteger(quantity)) return undefined;
    if (quantity < 1 || quantity > MAX_ITEM_QUANTITY) return undefined;
    if (parsed.some((earlier) => earlier.productId === productId)) return undefined;
    parsed.push({ productId, quantity });
  }
  return { items: parsed };
}

/** Keyset cursor over (createdAt, id), newest first: base64url of `v1:<ms>:<uuid>`. */
export function encodeOrderCursor(createdAt: string, id: string): string {
  return Buffer.from(`v1:${Date.parse(createdAt)}:${id}`).toString('base64url');
}

const cursorShape = /^v1:(\d{1,15}):([0-9a-f-]{36})$/;

export const listOrdersQuery = z.object({
  limit: limitQuery,
  cursor: z
    .string()
    .optional()
    .transform((cursor, ctx) => {
      if (cursor === undefined) return null;
      const match = /^[A-Za-z0-9_-]{1,128}$/.test(cursor)
        ? cursorShape.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
        : null;
      if (!match?.[1] || !match[2]) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned' });
        return z.NEVER;
      }
      return { createdAt: new Date(Number(match[1])), id: match[2] };
    }),
});

const ORDER_STATUS = z.enum(['PENDING', 'PROCESSING', 'PAID', 'FAILED', 'ON_HOLD', 'CANCELLED']);

const orderItem = z.object({
  productId: z.number().int(),
  quantity: z.number().int(),
  unitPrice: z
    .number()
    .int()
    .nullable()
    .meta({ description: 'KRW, the price when the order was processed; null until known.' }),
  subtotal: z
    .number()
    .int()
    .nullable()
    .meta({ description: 'unitPrice × quantity; null until known.' }),
});

export const orderResponse = z
  .object({
    orderId: z.uuid(),
    userId: z.number().int(),
    status: ORDER_STATUS,
    items: z.array(orderItem),
    totalAmount: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'KRW, the sum of the subtotals; null until known.' }),
    failureCode: z
      .enum(['INSUFFICIENT_STOCK', 'INSUFFICIENT_BALANCE', 'PRODUCT_NOT_FOUND'])
      .nullable()
      .meta({ description: 'Why it FAILED; null otherwise.' }),
    createdAt: z.iso.datetime(),
    paidAt: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'When it was PAID (kept after a cancellation); null otherwise.' }),
    cancelledAt: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'When a cancellation made it CANCELLED; null otherwise.' }),
    refundedAmount: z
      .number()
      .int()
      .nullable()
      .meta({
        description:
          'KRW refunded by its cancellation: totalAmount for an order cancelled after it was ' +
          'PAID, 0 for one cancelled before it was applied; null unless CANCELLED.',
      }),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Order', description: 'An order and where it stands.' });

export const orderListResponse = z
  .object({
    items: z.array(orderResponse),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass it as cursor for the next page (opaque); null on the last.' }),
  })
  .meta({ id: 'OrderList', description: "A page of the caller's orders, newest first." });

export const orderAcceptedResponse = z
  .object({
    orderId: z.uuid(),
    status: z.literal('PENDING'),
    statusUrl: z.string().meta({ description: 'Where to poll it (a path on this server).' }),
  })
  .meta({ id: 'OrderAccepted', description: 'An accepted order.' });

export const orderCancelAcceptedResponse = z
  .object({
    orderId: z.uuid(),
    status: ORDER_STATUS.meta({
      description:
        "The order's status when the cancellation was accepted (a replay answers the same); " +
        'poll statusUrl until it is CANCELLED (or FAILED, for an order that had failed).',
    }),
    statusUrl: z.string().meta({ description: 'The order, to poll (a path on this server).' }),
  })
  .meta({ id: 'OrderCancelAccepted', description: 'An accepted cancellation of an order.' });
