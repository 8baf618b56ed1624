import {
  adminBasic,
  headers,
  json,
  problem,
  publicAccess,
  response,
  type SchemaComponents,
} from './http/openapi-helpers';

const text = (description: string, mediaType: string) => ({
  description,
  headers: headers(),
  content: { [mediaType]: { schema: { type: 'string' } } },
});

/** Process health, metrics, this document and the operator board. */
export function operationsPaths(schemas: SchemaComponents): Record<string, unknown> {
  const health = schemas.define('Health', {
    type: 'object',
    properties: { status: { type: 'string', enum: ['ok'] } },
    required: ['status'],
    additionalProperties: false,
  });
  const readiness = schemas.define('Readiness', {
    type: 'object',
    properties: {
      status: { type: 'string', enum: ['ready'] },
      checks: {
        type: 'object',
        description: 'Each dependency (database, redis) and whether it answered.',
        additionalProperties: { type: 'string', enum: ['up', 'down'] },
      },
    },
    required: ['status', 'checks'],
    additionalProperties: false,
  });
  return {
    '/healthz': {
      get: {
        operationId: 'getHealth',
        tags: ['operations'],
        summary: 'Liveness',
        description: '200 while the process runs; it checks no dependency.',
        security: publicAccess,
        responses: { 200: json('The process runs.', health) },
      },
    },
    '/readyz': {
      get: {
        operationId: 'getReadiness',
        tags: ['operations'],
        summary: 'Readiness',
        description: '200 when the database and Redis answer (within 1 s each).',
        security: publicAccess,
        responses: {
          200: json('Ready to serve.', readiness),
          500: response('Internal'),
          503: problem('SERVICE_UNAVAILABLE, naming what is down.', 'RetryAfter'),
        },
      },
    },
    '/metrics': {
      get: {
        operationId: 'getMetrics',
        tags: ['operations'],
        summary: 'Prometheus metrics',
        description: 'The Prometheus text exposition format.',
        security: publicAccess,
        responses: {
          200: text('The metrics of this API process.', 'text/plain'),
          500: response('Internal'),
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        tags: ['operations'],
        summary: 'This OpenAPI document',
        description: 'Swagger UI shows it at /docs.',
        security: publicAccess,
        responses: {
          200: json('The OpenAPI 3.1 document.', {
            type: 'object',
            properties: {
              openapi: { type: 'string' },
              info: { type: 'object' },
              paths: { type: 'object' },
            },
            required: ['openapi', 'info', 'paths'],
          }),
        },
      },
    },
    '/admin/queues': {
      get: {
        operationId: 'getQueueBoard',
        tags: ['operations'],
        summary: 'Queue board (Bull Board)',
        description:
          'The operator UI over the charges, orders and events queues. Closed (401) unless ' +
          'ADMIN_PASSWORD is set; actions must come from the same origin.',
        security: adminBasic,
        responses: {
          200: text('The board (an HTML page).', 'text/html'),
          401: response('Unauthenticated'),
          500: response('Internal'),
        },
      },
    },
  };
}
