import { z } from 'zod';

/** Queue of accepted charges; one job per charge, applied by the charge worker. */
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

/** The job id is the charge id: adding the same charge twice is a no-op in BullMQ. */
export const chargeJobId = (chargeId: string): string => chargeId;
