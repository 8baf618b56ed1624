import { z } from 'zod';

export const balanceResponse = z
  .object({
    userId: z.number().int(),
    balance: z.number().int().meta({ description: 'KRW; never negative.' }),
    updatedAt: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'When the balance last changed; null for a user never charged.' }),
  })
  .meta({ id: 'Balance', description: "The caller's prepaid balance." });
