import { z } from 'zod';

/** Queue of accepted orders, applied by the order worker; a job carries one or many (batch.ts). */
export const ORDERS_QUEUE = 'orders';

export const MAX_ORDER_ITEMS = 50;
export const MAX_ITEM_QUANTITY = 100;

export const orderItemSchema = z.object({
  productId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  quantity: z.number().int().min(1).max(MAX_ITEM_QUANTITY),
});

export const orderJobSchema = z.object({
  orderId: z.uuid(),
  userId: z.number().int().positive(),
  items: z.array(orderItemSchema).min(1).max(MAX_ORDER_ITEMS),
  idempotencyKey: z.string().min(1).max(255),
  requestId: z.string().max(128).optional(),
  acceptedAt: z.iso.datetime(),
});

export type OrderJob = z.infer<typeof orderJobSchema>;
export type OrderItemInput = z.infer<typeof orderItemSchema>;

/** A job of one order has the order id as its job id: adding it twice is a no-op in BullMQ. */
export const orderJobId = (orderId: string): string => orderId;
