import { z } from 'zod';
import { limitQuery, positiveIdParam } from '../http/schemas';
import { decodeCursor } from './cursor';

export const listProductsQuery = z.object({
  limit: limitQuery,
  cursor: z
    .string()
    .optional()
    .transform((cursor, ctx) => {
      if (cursor === undefined) return 0;
      const id = decodeCursor(cursor);
      if (id === undefined) {
        ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned' });
        return z.NEVER;
      }
      return id;
    }),
});

export const productIdParams = z.object({ productId: positiveIdParam });

const productSummary = z.object({
  id: z.number().int(),
  name: z.string(),
  price: z.number().int(),
  stock: z.number().int(),
});

export const productListResponse = z
  .object({ items: z.array(productSummary), nextCursor: z.string().nullable() })
  .meta({ id: 'ProductList' });

export const productDetailResponse = productSummary
  .extend({ description: z.string(), updatedAt: z.iso.datetime() })
  .meta({ id: 'Product' });

export const topProductsResponse = z
  .object({
    windowHours: z.literal(72),
    generatedAt: z.iso.datetime(),
    products: z.array(
      z.object({
        rank: z.number().int(),
        productId: z.number().int(),
        name: z.string(),
        soldQuantity: z.number().int(),
        revenue: z.number().int(),
      }),
    ),
  })
  .meta({ id: 'TopProducts' });
