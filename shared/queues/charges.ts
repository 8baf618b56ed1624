import { z } from 'zod';

/** Queue of accepted charges, applied by the charge worker; a job holds one or many (batch.ts). */
export const CHARGES_QUEUE = 'charges';

export const MAX_CHARGE_AMOUNT = 10_000_000;

export const chargeJobSchema = z.object({
  chargeId: z.uuid(),
  userId: z.number().int().positive(),
  amount: z.number().int().min(1).max(MAX_CHARGE_AMOUNT),
  idempotencyKey: z.string().min(1).max(255),
  requestId: z.string().max(128).optional(),
  acceptedAt: z.iso.datetime(),
});

export type ChargeJob = z.infer<typeof chargeJobSchema>;

/** A job of one charge has the charge id as its job id: adding it twice is a no-op in BullMQ. */
export const chargeJobId = (chargeId: string): string => chargeId;
