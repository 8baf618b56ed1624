import type { z } from 'zod';
import { chargeAcceptedResponse, chargeBody, chargeResponse } from './charges/schemas';
import {
  bearer,
  json,
  parameter,
  problem,
  response,
  uuidId,
  type SchemaComponents,
} from './http/openapi-helpers';
import { cancelOrderBody } from './orders/cancel-endpoint';
import {
  orderAcceptedResponse,
  orderCancelAcceptedResponse,
  orderListResponse,
  orderResponse,
  placeOrderBody,
} from './orders/schemas';

const ACCEPTED =
  'Accepted; a worker applies it. Poll statusUrl (also in Location) until the status is final. ' +
  'A replay (same Idempotency-Key and body) answers this again, with Idempotent-Replayed: true.';

/** POST /api/charges and /api/orders: the accept contract they share. */
function acceptOperation(
  schemas: SchemaComponents,
  operation: { operationId: string; tags: string[]; summary: string; description: string },
  body: z.ZodType,
  accepted: z.ZodType,
) {
  return {
    ...operation,
    security: bearer,
    parameters: [parameter('IdempotencyKey')],
    requestBody: {
      required: true,
      content: { 'application/json': { schema: schemas.ref(body, 'input') } },
    },
    responses: {
      202: json(ACCEPTED, schemas.ref(accepted), 'Location', 'IdempotentReplayed'),
      400: problem(
        'VALIDATION_FAILED (with errors[]), INVALID_JSON, or IDEMPOTENCY_KEY_REQUIRED (the ' +
          'Idempotency-Key header is missing or invalid).',
      ),
      401: response('Unauthenticated'),
      413: response('PayloadTooLarge'),
      415: response('UnsupportedMediaType'),
      422: response('IdempotencyKeyReused'),
      429: response('RateLimited'),
      500: response('Internal'),
      503: response('AcceptRefused'),
    },
  };
}

/** GET of one charge or order: the status a client polls. */
function statusOperation(
  schemas: SchemaComponents,
  operation: { operationId: string; tags: string[]; summary: string; description: string },
  idName: string,
  view: z.ZodType,
  notFound: string,
) {
  return {
    ...operation,
    security: bearer,
    parameters: [
      uuidId(idName, "The id from the 202 answer. Unknown ids and other users' ids are 404."),
    ],
    responses: {
      200: json(
        'The current status. Not cached; while it is not final, Retry-After says when to poll again.',
        schemas.ref(view),
        'PollAgainAfter',
      ),
      400: problem('VALIDATION_FAILED: the id is not a valid percent-encoded path segment.'),
      401: response('Unauthenticated'),
      404: problem(notFound),
      500: response('Internal'),
      503: response('Unavailable'),
    },
  };
}

/** Charges and orders: accepted with 202, applied by workers, polled by status URL. */
export function chargeAndOrderPaths(schemas: SchemaComponents): Record<string, unknown> {
  return {
    '/api/charges': {
      post: acceptOperation(
        schemas,
        {
          operationId: 'createCharge',
          tags: ['balance'],
          summary: 'Charge the balance',
          description:
            'amount is an integer 1..10,000,000 KRW; unknown body fields are rejected. A worker ' +
            'applies it: COMPLETED, or FAILED with BALANCE_LIMIT_EXCEEDED when the balance would ' +
            'pass 1,000,000,000,000.',
        },
        chargeBody,
        chargeAcceptedResponse,
      ),
    },
    '/api/charges/{chargeId}': {
      get: statusOperation(
        schemas,
        {
          operationId: 'getCharge',
          tags: ['balance'],
          summary: 'A charge and its status',
          description:
            'PENDING → PROCESSING → COMPLETED or FAILED; ON_HOLD when processing kept failing ' +
            'for infrastructure reasons and an operator must replay it. completedAt is when it ' +
            'reached COMPLETED or FAILED.',
        },
        'chargeId',
        chargeResponse,
        'CHARGE_NOT_FOUND: the caller has no charge with this id.',
      ),
    },
    '/api/orders': {
      post: acceptOperation(
        schemas,
        {
          operationId: 'placeOrder',
          tags: ['orders'],
          summary: 'Place an order',
          description:
            '1..50 items, quantity 1..100, no repeated productId; unknown body fields are ' +
            'rejected. A worker applies it all or nothing, at the prices current when it is ' +
            'processed: PAID, or FAILED with INSUFFICIENT_STOCK, INSUFFICIENT_BALANCE or ' +
            'PRODUCT_NOT_FOUND.',
        },
        placeOrderBody,
        orderAcceptedResponse,
      ),
      get: {
        operationId: 'listOrders',
        tags: ['orders'],
        summary: "List the caller's orders",
        description:
          "The caller's orders, newest first, keyset-paginated (pass nextCursor back as cursor). " +
          'Accepted orders not yet applied (PENDING, PROCESSING, ON_HOLD) are included.',
        security: bearer,
        parameters: [parameter('Limit'), parameter('Cursor')],
        responses: {
          200: json('A page of orders.', schemas.ref(orderListResponse)),
          400: problem('VALIDATION_FAILED (with errors[]): limit or cursor is invalid.'),
          401: response('Unauthenticated'),
          500: response('Internal'),
          503: response('Unavailable'),
        },
      },
    },
    '/api/orders/{orderId}': {
      get: statusOperation(
        schemas,
        {
          operationId: 'getOrder',
          tags: ['orders'],
          summary: 'An order and its status',
          description:
            'PENDING → PROCESSING → PAID or FAILED (final, never change); ON_HOLD as for ' +
            'charges. unitPrice, subtotal and totalAmount are null until known. An order ' +
            'accepted again under the same key after its idempotency record was lost resolves ' +
            'to the first order (its body names that order).',
        },
        'orderId',
        orderResponse,
        'ORDER_NOT_FOUND: the caller has no order with this id.',
      ),
    },
    '/api/orders/{orderId}/cancel': {
      post: {
        operationId: 'cancelOrder',
        tags: ['orders'],
        summary: 'Cancel an order',
        description:
          'Accepted like every write (Idempotency-Key, 202, poll the order). A worker applies ' +
          'it: a PAID order becomes CANCELLED with every item back in stock and its total ' +
          'refunded to the balance (refundedAmount = totalAmount), in one transaction, exactly ' +
          'once; an order not yet applied becomes CANCELLED and is never applied ' +
          '(refundedAmount = 0); an order that had FAILED stays FAILED. An order already ' +
          'CANCELLED answers 202 again. No body, or {}.',
        security: bearer,
        parameters: [parameter('IdempotencyKey'), uuidId('orderId', 'The order to cancel.')],
        requestBody: {
          required: false,
          content: { 'application/json': { schema: schemas.ref(cancelOrderBody, 'input') } },
        },
        responses: {
          202: json(
            'Accepted; a worker applies it. Poll statusUrl (also in Location), the order, ' +
              'until it is CANCELLED. A replay answers this again, with Idempotent-Replayed: true.',
            schemas.ref(orderCancelAcceptedResponse),
            'Location',
            'IdempotentReplayed',
          ),
          400: problem(
            'VALIDATION_FAILED (a body other than {}), INVALID_JSON, or ' +
              'IDEMPOTENCY_KEY_REQUIRED.',
          ),
          401: response('Unauthenticated'),
          404: problem('ORDER_NOT_FOUND: the caller has no order with this id.'),
          409: problem(
            'ORDER_NOT_CANCELLABLE: the order FAILED, or was PAID more than ' +
              'ORDER_CANCEL_WINDOW_H hours ago.',
          ),
          413: response('PayloadTooLarge'),
          415: response('UnsupportedMediaType'),
          422: response('IdempotencyKeyReused'),
          429: response('RateLimited'),
          500: response('Internal'),
          503: response('AcceptRefused'),
        },
      },
    },
  };
}
