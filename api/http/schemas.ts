import { z } from 'zod';

/**
 * Whether `value` is a JSON object (not an array, not null) whose keys are all among `keys`:
 * the first test of a body's usual shape (`usualOrderBody`, `usualChargeBody`).
 */
export function isObjectWithin(
  value: unknown,
  keys: readonly string[],
): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) if (!keys.includes(key)) return false;
  return true;
}

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
    type: z.string().meta({ description: '`about:blank`, or a URI naming the problem type.' }),
    title: z.string(),
    status: z.number().int().meta({ description: 'The HTTP status.' }),
    code: z.string().meta({
      description:
        'Stable and machine-readable: VALIDATION_FAILED, INVALID_JSON, IDEMPOTENCY_KEY_REQUIRED, ' +
        'UNAUTHENTICATED, NOT_FOUND, PRODUCT_NOT_FOUND, ORDER_NOT_FOUND, CHARGE_NOT_FOUND, ' +
        'PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, IDEMPOTENCY_KEY_REUSED, RATE_LIMITED, ' +
        'OVERLOADED, SERVICE_UNAVAILABLE, INTERNAL.',
    }),
    detail: z.string(),
    errors: z
      .array(
        z.object({
          path: z.string().meta({ description: 'Where: `body.items.0.quantity`, `query.limit`.' }),
          message: z.string(),
        }),
      )
      .optional()
      .meta({ description: 'Each field that failed validation (VALIDATION_FAILED).' }),
  })
  .meta({
    id: 'Problem',
    description: 'An error, as application/problem+json (RFC 9457) with a stable code.',
  });
