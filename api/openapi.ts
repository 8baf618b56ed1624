import { balanceResponse } from './balance/schemas';
import { productDetailResponse, productListResponse, topProductsResponse } from './catalog/schemas';
import {
  HEADER_COMPONENTS,
  PARAMETER_COMPONENTS,
  RESPONSE_COMPONENTS,
  bearer,
  createSchemaComponents,
  integerId,
  json,
  parameter,
  problem,
  publicAccess,
  response,
  type SchemaComponents,
} from './http/openapi-helpers';
import { problemSchema } from './http/schemas';
import { adminProductPaths } from './openapi-admin';
import { operationsPaths } from './openapi-operations';
import { chargeAndOrderPaths } from './openapi-charges-orders';

const DESCRIPTION = `Queue-backed order processing for an e-commerce shop.

- **Money** is an integer number of KRW. Timestamps are ISO-8601 in UTC, or null.
- **Errors** are \`application/problem+json\` (the Problem schema) with a stable \`code\`; a client
  mistake never yields a 5xx. Unknown routes answer 404 \`NOT_FOUND\`.
- **Every response** carries \`X-Request-Id\` (the client's, when it sends a sane one).
- **POST bodies** must be \`application/json\` (415 otherwise) and at most 16 KiB (413).
- **Charges and orders** are accepted with 202 and applied by workers: poll the \`statusUrl\`
  (also in \`Location\`) until the status is final; \`Retry-After\` says when to poll again.
- **Idempotency**: every POST that moves money or stock needs an \`Idempotency-Key\`; repeating
  it with the same body replays the first answer (\`Idempotent-Replayed: true\`).`;

const TAGS = [
  { name: 'catalog', description: 'Products and the best sellers (public).' },
  { name: 'balance', description: "The caller's prepaid balance and its charges." },
  { name: 'orders', description: "Placing the caller's orders and following them." },
  { name: 'operations', description: 'Health, readiness, metrics and the operator board.' },
  {
    name: 'administration',
    description: "The operator's catalog writes (HTTP Basic auth: ADMIN_USER / ADMIN_PASSWORD).",
  },
];

/** Catalog reads may serve the last known view while the database is down (see Age). */
const CATALOG_UNAVAILABLE =
  'SERVICE_UNAVAILABLE: the database is unreachable and no view of this data is known, or the ' +
  'last known one is older than CATALOG_STALE_IF_ERROR_S seconds (default 300).';

function catalogPaths(schemas: SchemaComponents): Record<string, unknown> {
  const unavailable = problem(CATALOG_UNAVAILABLE, 'RetryAfter');
  return {
    '/api/products': {
      get: {
        operationId: 'listProducts',
        tags: ['catalog'],
        summary: 'List products',
        description:
          'Products by ascending id, keyset-paginated: pass nextCursor back as cursor for the next ' +
          'page; it is null on the last. While the database is unreachable the last known page ' +
          'may be served, with an Age header.',
        security: publicAccess,
        parameters: [parameter('Limit'), parameter('Cursor')],
        responses: {
          200: json('A page of products.', schemas.ref(productListResponse), 'Age'),
          400: problem('VALIDATION_FAILED (with errors[]): limit or cursor is invalid.'),
          500: response('Internal'),
          503: unavailable,
        },
      },
    },
    '/api/products/top': {
      get: {
        operationId: 'getTopProducts',
        tags: ['catalog'],
        summary: 'Best sellers of the last 72 hours',
        description:
          'At most 5 products by quantity sold in PAID orders with paidAt in the last 72 hours, ' +
          'then by ascending productId; empty when nothing sold. May be up to 60 s stale.',
        security: publicAccess,
        responses: {
          200: json('The ranking.', schemas.ref(topProductsResponse), 'Age'),
          500: response('Internal'),
          503: unavailable,
        },
      },
    },
    '/api/products/{productId}': {
      get: {
        operationId: 'getProduct',
        tags: ['catalog'],
        summary: 'One product',
        description:
          'stock may lag committed orders by at most 5 s. While the database is unreachable the ' +
          'last known view is served for at most CATALOG_STALE_IF_ERROR_S seconds (default 300), ' +
          'with an Age header; after that, 503.',
        security: publicAccess,
        parameters: [integerId('productId', 'The product id.')],
        responses: {
          200: json('The product.', schemas.ref(productDetailResponse), 'Age'),
          400: problem('VALIDATION_FAILED: the id is not a positive integer.'),
          404: problem('PRODUCT_NOT_FOUND: no product has this id.'),
          500: response('Internal'),
          503: unavailable,
        },
      },
    },
  };
}

function balancePaths(schemas: SchemaComponents): Record<string, unknown> {
  return {
    '/api/balance': {
      get: {
        operationId: 'getBalance',
        tags: ['balance'],
        summary: "The caller's balance",
        description:
          'Reflects every COMPLETED charge and PAID order. A user never charged has balance 0 ' +
          'and updatedAt null.',
        security: bearer,
        responses: {
          200: json('The balance.', schemas.ref(balanceResponse)),
          401: response('Unauthenticated'),
          500: response('Internal'),
          503: response('Unavailable'),
        },
      },
    },
  };
}

/** Express answers `If-None-Match: *` on any GET it serves with 304, so every GET declares it. */
function withConditionalGets(paths: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => {
      const { get, ...others } = item as { get?: { responses: Record<string, unknown> } };
      if (get === undefined) return [path, item];
      // Integer keys keep their numeric order: 304 lands after the 200.
      const responses = { ...get.responses, 304: response('NotModified') };
      return [path, { get: { ...get, responses }, ...others }];
    }),
  );
}

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas the routes validate with. The
 * app serves it at /openapi.json and `npm run openapi` writes it to docs/openapi.json.
 */
export function buildOpenApiDocument(): Record<string, unknown> {
  const schemas = createSchemaComponents();
  schemas.ref(problemSchema);
  const paths = withConditionalGets({
    ...catalogPaths(schemas),
    ...balancePaths(schemas),
    ...chargeAndOrderPaths(schemas),
    ...operationsPaths(schemas),
    ...adminProductPaths(schemas),
  });
  // A copy: the shared building blocks (headers, responses, security lists) stay out of reach
  // of whoever changes one document.
  return structuredClone({
    openapi: '3.1.1',
    info: {
      title: 'Shop orders API',
      version: '1.0.0',
      description: DESCRIPTION,
      license: { name: 'UNLICENSED', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/', description: 'The server that serves this document' }],
    tags: TAGS,
    paths,
    components: {
      schemas: schemas.build(),
      responses: RESPONSE_COMPONENTS,
      parameters: PARAMETER_COMPONENTS,
      headers: HEADER_COMPONENTS,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'HS256, signed with JWT_SECRET; `sub` is the user id as a decimal string; `exp` is required.',
        },
        adminBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'ADMIN_USER / ADMIN_PASSWORD. Without a configured password, always 401.',
        },
      },
    },
  });
}
