import { z } from 'zod';

/** A positive integer id in a path: `abc`, `-1`, `0`, `1.5` and unsafe integers are 400s. */
export const positiveIdParam = z
  .string()
  .regex(/^[1-9][0-9]*$/, 'must be a positive integer')
  .max(16, 'is too large')
  .transform(Number)
  .refine((n) => Number.isSafeInteger(n), 'is too large');

/** `limit` query parameter: integer 1..100, default 20. */
export const limitQuery = z
  .string()
  .regex(/^[0-9]+$/, 'must be an integer between 1 and 100')
  .max(3, 'must be an integer between 1 and 100')
  .transform(Number)
  .refine((n) => n >= 1 && n <= 100, 'must be an integer between 1 and 100')
  .optional()
  .transform((n) => n ?? 20);

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });
