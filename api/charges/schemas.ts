import { z } from 'zod';
import { MAX_CHARGE_AMOUNT } from '../../shared/queues/charges';
import { isObjectWithin } from '../http/schemas';

export const chargeBody = z
  .strictObject({
    amount: z
      .number()
      .int('must be an integer')
      .min(1)
      .max(MAX_CHARGE_AMOUNT)
      .meta({ description: 'KRW to add to the balance.' }),
  })
  .meta({ id: 'Charge', description: 'A charge of the prepaid balance.' });

export type Charge = z.output<typeof chargeBody>;

const CHARGE_KEYS = ['amount'];

/**
 * The charge body recognised without the schema: exactly an integer `amount` in 1..10,000,000.
 * Answers what {@link chargeBody} parses it to, or undefined for anything else, which the
 * schema then parses; like `usualOrderBody`, and checked against the schema the same way.
 */
export function usualChargeBody(json: unknown): Charge | undefined {
  if (!isObjectWithin(json, CHARGE_KEYS)) return undefined;
  const { amount } = json;
  if (typeof amount !== 'number' || !Number.isInteger(amount)) return undefined;
  return amount >= 1 && amount <= MAX_CHARGE_AMOUNT ? { amount } : undefined;
}

export const chargeResponse = z
  .object({
    chargeId: z.uuid(),
    userId: z.number().int(),
    amount: z.number().int(),
    status: z.enum(['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'ON_HOLD']),
    failureCode: z
      .enum(['BALANCE_LIMIT_EXCEEDED'])
      .nullable()
      .meta({ description: 'Why it FAILED; null otherwise.' }),
    balanceAfter: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'The balance right after it COMPLETED; null until then.' }),
    createdAt: z.iso.datetime(),
    completedAt: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'When it reached COMPLETED or FAILED; null until then.' }),
  })
  .meta({ id: 'ChargeStatus', description: 'A charge and where it stands.' });

export const chargeAcceptedResponse = z
  .object({
    chargeId: z.uuid(),
    status: z.literal('PENDING'),
    statusUrl: z.string().meta({ description: 'Where to poll it (a path on this server).' }),
  })
  .meta({ id: 'ChargeAccepted', description: 'An accepted charge.' });
