import { z } from 'zod';
import { MAX_CHARGE_AMOUNT } from '../../shared/queues/charges';

export const chargeBody = z
  .strictObject({
    amount: z.number().int('must be an integer').min(1).max(MAX_CHARGE_AMOUNT),
  })
  .meta({ id: 'Charge' });

export const chargeResponse = z
  .object({
    chargeId: z.uuid(),
    userId: z.number().int(),
    amount: z.number().int(),
    status: z.enum(['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'ON_HOLD']),
    failureCode: z.enum(['BALANCE_LIMIT_EXCEEDED']).nullable(),
    balanceAfter: z.number().int().nullable(),
    createdAt: z.iso.datetime(),
    completedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ChargeStatus' });

export const chargeAcceptedResponse = z
  .object({ chargeId: z.uuid(), status: z.literal('PENDING'), statusUrl: z.string() })
  .meta({ id: 'ChargeAccepted' });
