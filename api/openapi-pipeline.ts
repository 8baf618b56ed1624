import { chargeAcceptedResponse, chargeBody, chargeResponse } from './charges/schemas';
import { bearer, json, problem, queryParameters, schemaOf } from './http/openapi-helpers';
import {
  listOrdersQuery,
  orderAcceptedResponse,
  orderListResponse,
  orderResponse,
  placeOrderBody,
} from './orders/schemas';

const idempotencyKey = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  description:
    '1..255 visible ASCII characters, scoped per user and endpoint, remembered 48 h. The same key with the ' +
    'same body (key order ignored) replays the first response with Idempotent-Replayed: true; with a ' +
    'different body it is a 422.',
  schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
};

const uuidPath = (name: string) => ({
  name,
  in: 'path',
  required: true,
  description:
    'The id from the 202 answer. Ids that do not exist, or belong to another user, are 404.',
  schema: { type: 'string' },
});

const accepted = (what: string, schema: Parameters<typeof json>[1]) => ({
  ...json(`${what} accepted; poll statusUrl (also in Location) until the status is final`, schema),
  headers: {
    Location: { schema: { type: 'string' }, description: 'The status URL' },
    'Idempotent-Replayed': {
      schema: { type: 'string', enum: ['true'] },
      description: 'Set on a replay',
    },
  },
});

const polled = (what: string, schema: Parameters<typeof json>[1]) => ({
  ...json(what, schema),
  headers: {
    'Retry-After': { schema: { type: 'integer' }, description: '1 while the status is not final' },
  },
});

const acceptErrors = {
  400: problem('VALIDATION_FAILED (with errors[]), INVALID_JSON or IDEMPOTENCY_KEY_REQUIRED'),
  401: problem('UNAUTHENTICATED'),
  413: problem('PAYLOAD_TOO_LARGE'),
  415: problem('UNSUPPORTED_MEDIA_TYPE'),
  422: problem('IDEMPOTENCY_KEY_REUSED'),
  503: problem(
    'OVERLOADED (admission control) or SERVICE_UNAVAILABLE (Redis down); with Retry-After',
  ),
};

/** Charges and orders: accepted with 202, applied by workers, polled by status URL. */
export function pipelinePaths(): Record<string, unknown> {
  return {
    '/api/charges': {
      post: {
        tags: ['balance'],
        summary: 'Charge the prepaid balance (asynchronous)',
        description:
          'Applied by a worker: COMPLETED, or FAILED with BALANCE_LIMIT_EXCEEDED when the balance would pass ' +
          '1,000,000,000,000 KRW. Unknown body fields are rejected.',
        security: bearer,
        parameters: [idempotencyKey],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: schemaOf(chargeBody, 'input') } },
        },
        responses: { 202: accepted('Charge', chargeAcceptedResponse), ...acceptErrors },
      },
    },
    '/api/charges/{chargeId}': {
      get: {
        tags: ['balance'],
        summary: 'A charge and its status',
        description:
          'PENDING → PROCESSING → COMPLETED or FAILED; ON_HOLD when infrastructure kept failing and an operator ' +
          'must replay it. completedAt is when it reached COMPLETED or FAILED.',
        security: bearer,
        parameters: [uuidPath('chargeId')],
        responses: {
          200: polled('The charge', chargeResponse),
          401: problem('UNAUTHENTICATED'),
          404: problem('CHARGE_NOT_FOUND'),
        },
      },
    },
    '/api/orders': {
      post: {
        tags: ['orders'],
        summary: 'Place an order (asynchronous, all or nothing)',
        description:
          '1..50 items, quantity 1..100, no repeated productId. Applied by a worker at the price current when ' +
          'it is processed: PAID, or FAILED with INSUFFICIENT_STOCK, INSUFFICIENT_BALANCE or PRODUCT_NOT_FOUND.',
        security: bearer,
        parameters: [idempotencyKey],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: schemaOf(placeOrderBody, 'input') } },
        },
        responses: { 202: accepted('Order', orderAcceptedResponse), ...acceptErrors },
      },
      get: {
        tags: ['orders'],
        summary: "The caller's orders, newest first",
        description:
          'Lists orders once a worker has recorded them (normally milliseconds after acceptance); poll the ' +
          'statusUrl of a just-accepted order.',
        security: bearer,
        parameters: queryParameters(listOrdersQuery),
        responses: {
          200: json('A page of orders', orderListResponse),
          400: problem('VALIDATION_FAILED: bad limit or cursor'),
          401: problem('UNAUTHENTICATED'),
        },
      },
    },
    '/api/orders/{orderId}': {
      get: {
        tags: ['orders'],
        summary: 'An order and its status',
        description:
          'PENDING → PROCESSING → PAID or FAILED (final, never change); ON_HOLD as for charges. unitPrice, ' +
          'subtotal and totalAmount are null until known. An order accepted again under the same key after its ' +
          'idempotency record was lost resolves to the first order (its body names that order).',
        security: bearer,
        parameters: [uuidPath('orderId')],
        responses: {
          200: polled('The order', orderResponse),
          401: problem('UNAUTHENTICATED'),
          404: problem('ORDER_NOT_FOUND'),
        },
      },
    },
  };
}
