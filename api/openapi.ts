import { z } from 'zod';
import { balanceResponse } from './balance/schemas';
import {
  listProductsQuery,
  productDetailResponse,
  productListResponse,
  topProductsResponse,
} from './catalog/schemas';
import { bearer, components, json, pathId, problem, queryParameters } from './http/openapi-helpers';
import { problemSchema } from './http/schemas';
import { pipelinePaths } from './openapi-pipeline';

/** The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. */
export function buildOpenApiDocument(): Record<string, unknown> {
  components.Problem = z.toJSONSchema(problemSchema);
  delete components.Problem.$schema;

  const paths = {
    '/api/products': {
      get: {
        tags: ['catalog'],
        summary: 'List products by ascending id (keyset pagination)',
        parameters: queryParameters(listProductsQuery),
        responses: {
          200: json(
            'A page of products; pass nextCursor back to get the next',
            productListResponse,
          ),
          400: problem('VALIDATION_FAILED: bad limit or cursor'),
        },
      },
    },
    '/api/products/top': {
      get: {
        tags: ['catalog'],
        summary: 'Top 5 products by quantity sold in PAID orders over the last 72 hours',
        description: 'May be up to 60 s stale. Ties are broken by ascending productId.',
        responses: { 200: json('The ranking', topProductsResponse) },
      },
    },
    '/api/products/{productId}': {
      get: {
        tags: ['catalog'],
        summary: 'One product',
        description: 'stock may lag committed orders by at most 5 s.',
        parameters: [pathId('productId', 'A positive integer')],
        responses: {
          200: json('The product', productDetailResponse),
          400: problem('VALIDATION_FAILED: the id is not a positive integer'),
          404: problem('PRODUCT_NOT_FOUND'),
        },
      },
    },
    '/api/balance': {
      get: {
        tags: ['balance'],
        summary: "The caller's balance",
        description:
          'Reflects every COMPLETED charge and PAID order. A user never charged has balance 0 and updatedAt null.',
        security: bearer,
        responses: {
          200: json('The balance', balanceResponse),
          401: problem('UNAUTHENTICATED'),
        },
      },
    },
    ...pipelinePaths(),
    '/healthz': { get: { tags: ['operations'], responses: { 200: { description: 'Alive' } } } },
    '/readyz': {
      get: {
        tags: ['operations'],
        responses: {
          200: { description: 'The database and Redis answer' },
          503: problem('SERVICE_UNAVAILABLE, naming what is down'),
        },
      },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'Shop orders API',
      version: '1.0.0',
      description:
        'Queue-backed order processing. Errors are application/problem+json with a stable `code`. ' +
        'Every response carries X-Request-Id. POST bodies must be application/json (415) and at most 16 KiB (413).',
    },
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}
