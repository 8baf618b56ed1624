import { productDetailResponse } from './catalog/schemas';
import {
  createProductBody,
  restockBody,
  restockResponse,
  updateProductBody,
} from './admin/products/schemas';
import {
  adminBasic,
  headers,
  integerId,
  json,
  parameter,
  problem,
  response,
  type SchemaComponents,
} from './http/openapi-helpers';

const SHOWN =
  'The process that served the write shows it at once (GET /api/products/{productId}); every ' +
  'other API process within 5 s.';

const UNAVAILABLE = problem(
  'SERVICE_UNAVAILABLE: the database is unreachable, its circuit breaker is open, or the ' +
    'product stayed locked by orders past the lock wait. The outcome of a write that was ' +
    'cut off is unknown: a restock is retried safely with the same Idempotency-Key.',
  'RetryAfter',
);

/** What every write of a JSON body may be refused with before it is looked at. */
const bodyRefusals = {
  401: response('Unauthenticated'),
  413: response('PayloadTooLarge'),
  415: response('UnsupportedMediaType'),
};

/** `/admin/products`: the operator's catalog writes, behind admin Basic auth. */
export function adminProductPaths(schemas: SchemaComponents): Record<string, unknown> {
  const product = schemas.ref(productDetailResponse);
  const productId = integerId('productId', 'The product id.');
  return {
    '/admin/products': {
      post: {
        operationId: 'createProduct',
        tags: ['administration'],
        summary: 'Add a product',
        description:
          'Inserts a product and answers it as GET /api/products/{productId} would, with its ' +
          `URL in Location. Unknown body fields are rejected. ${SHOWN}`,
        security: adminBasic,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: schemas.ref(createProductBody, 'input') } },
        },
        responses: {
          201: {
            ...json('The product as created.', product),
            headers: {
              ...headers(),
              Location: {
                description: "The product's URL: /api/products/{productId}.",
                required: true,
                schema: { type: 'string' },
              },
            },
          },
          400: problem('VALIDATION_FAILED (with errors[]) or INVALID_JSON.'),
          ...bodyRefusals,
          500: response('Internal'),
          503: UNAVAILABLE,
        },
      },
    },
    '/admin/products/{productId}': {
      patch: {
        operationId: 'updateProduct',
        tags: ['administration'],
        summary: "Change a product's name, description or price",
        description:
          'Changes the fields given (at least one of name, description, price); stock is never ' +
          'set directly (restock it). Orders not yet processed pay the new price; the best ' +
          `sellers show a new name within 60 s. ${SHOWN}`,
        security: adminBasic,
        parameters: [productId],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: schemas.ref(updateProductBody, 'input') } },
        },
        responses: {
          200: json('The product as changed.', product),
          400: problem(
            'VALIDATION_FAILED (with errors[]: no field, an unknown field such as stock, a ' +
              'value out of range, or an id that is not a positive integer) or INVALID_JSON.',
          ),
          ...bodyRefusals,
          404: problem('PRODUCT_NOT_FOUND: no product has this id; nothing was written.'),
          500: response('Internal'),
          503: UNAVAILABLE,
        },
      },
    },
    '/admin/products/{productId}/restock': {
      post: {
        operationId: 'restockProduct',
        tags: ['administration'],
        summary: 'Add units to a product',
        description:
          'Adds quantity to the stock, exactly once per Idempotency-Key, beside orders taking ' +
          'units from the same product (no unit is lost or counted twice). Keys are scoped to ' +
          'this endpoint: the same key with the same product and quantity answers the first ' +
          'response again (Idempotent-Replayed: true); with another product or quantity it is ' +
          '422. A restock that would take the stock past 2,147,483,647 is refused (400, ' +
          `errors[] naming body.quantity) and adds nothing. ${SHOWN}`,
        security: adminBasic,
        parameters: [productId, parameter('IdempotencyKey')],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: schemas.ref(restockBody, 'input') } },
        },
        responses: {
          200: json(
            'The stock right after this restock (a replay answers the first figure again).',
            schemas.ref(restockResponse),
            'IdempotentReplayed',
          ),
          400: problem(
            'VALIDATION_FAILED (with errors[]: the body, the id, or a stock past the limit), ' +
              'INVALID_JSON, or IDEMPOTENCY_KEY_REQUIRED.',
          ),
          ...bodyRefusals,
          404: problem('PRODUCT_NOT_FOUND: no product has this id; nothing was written.'),
          422: response('IdempotencyKeyReused'),
          500: response('Internal'),
          503: UNAVAILABLE,
        },
      },
    },
  };
}
