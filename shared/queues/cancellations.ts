import { z } from 'zod';
import { orderItemSchema } from './orders';

/**
 * Queue of accepted order cancellations, applied by the cancellation worker; a job holds one
 * or many (batch.ts). A cancellation is a request of its own (its own id, idempotency key and
 * records), in the partition of its user — the same as the order's.
 */
export const CANCELLATIONS_QUEUE = 'cancellations';

export const cancellationJobSchema = z.object({
  cancellationId: z.uuid(),
  orderId: z.uuid(),
  userId: z.number().int().positive(),
  idempotencyKey: z.string().min(1).max(255),
  requestId: z.string().max(128).optional(),
  acceptedAt: z.iso.datetime(),
  /**
   * The order as it was accepted, when the API saw it not yet applied: what the worker records
   * if it still finds no row — the order CANCELLED, so that applying it later is a no-op.
   */
  order: z
    .object({
      idempotencyKey: z.string().min(1).max(255),
      items: z.array(orderItemSchema).min(1),
      acceptedAt: z.iso.datetime(),
    })
    .nullable(),
});

export type CancellationJob = z.infer<typeof cancellationJobSchema>;
