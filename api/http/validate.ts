import type { z } from 'zod';
import { AppError, type FieldError } from '../../shared/errors';

type Where = 'body' | 'query' | 'params' | 'headers';

function toFieldErrors(where: Where, error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

/** Parses `value` with `schema` or throws 400 VALIDATION_FAILED listing every problem. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: Where): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new AppError('VALIDATION_FAILED', {
      detail: `The request ${where === 'params' ? 'path' : where} is invalid`,
      errors: toFieldErrors(where, result.error),
    });
  }
  return result.data;
}
