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
  price: z.number().int().meta({ description: 'KRW.' }),
  stock: z.number().int().meta({
    description: 'Units left; may lag committed orders by at most 5 s.',
  }),
});

export const productListResponse = z
  .object({
    items: z.array(productSummary),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass it as cursor for the next page (opaque); null on the last.' }),
  })
  .meta({ id: 'ProductList', description: 'A page of products, by ascending id.' });

export const productDetailResponse = productSummary
  .extend({ description: z.string(), updatedAt: z.iso.datetime() })
  .meta({ id: 'Product', description: 'One product of the catalog.' });

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
        revenue: z.number().int().meta({ description: 'KRW paid for those units.' }),
      }),
    ),
  })
  .meta({
    id: 'TopProducts',
    description: 'At most 5 products by quantity sold in PAID orders over the last 72 hours.',
  });
