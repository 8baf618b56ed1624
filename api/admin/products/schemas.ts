import { z } from 'zod';

const name = z
  .string()
  .min(1)
  .max(200)
  .regex(/\S/, 'must not be blank')
  .meta({ description: '1..200 characters, not all whitespace.' });
const description = z.string().max(2_000).meta({ description: 'At most 2,000 characters.' });
const price = z
  .number()
  .int('must be an integer')
  .min(0)
  .max(1_000_000_000_000)
  .meta({ description: 'KRW, 0..1,000,000,000,000.' });

export const createProductBody = z
  .strictObject({
    name,
    description: description.optional().meta({ description: 'Default empty.' }),
    price,
    stock: z
      .number()
      .int('must be an integer')
      .min(0)
      .max(1_000_000_000)
      .meta({ description: 'Units on hand at the start, 0..1,000,000,000.' }),
  })
  .meta({ id: 'NewProduct', description: 'A product to add to the catalog.' });

export const updateProductBody = z
  .strictObject({
    name: name.optional(),
    description: description.optional(),
    price: price.optional().meta({
      description: 'KRW, 0..1,000,000,000,000. Orders not yet processed pay the new price.',
    }),
  })
  .refine((changes) => Object.keys(changes).length > 0, 'must name at least one field')
  .meta({
    id: 'ProductChanges',
    description:
      'The fields to change (at least one); the others keep their values. Stock is never set ' +
      'directly: restock it.',
    minProperties: 1,
  });

export const restockBody = z
  .strictObject({
    quantity: z
      .number()
      .int('must be an integer')
      .min(1)
      .max(1_000_000)
      .meta({ description: 'Units to add, 1..1,000,000.' }),
  })
  .meta({ id: 'Restock', description: 'Units received for a product.' });

export const restockResponse = z
  .object({
    productId: z.number().int(),
    stock: z.number().int().meta({
      description: 'The stock right after this restock (a replay answers the same figure).',
    }),
  })
  .meta({ id: 'Restocked', description: 'A restock applied.' });
