import { z } from 'zod';

export const balanceResponse = z
  .object({
    userId: z.number().int(),
    balance: z.number().int(),
    updatedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Balance' });
