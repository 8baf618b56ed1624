/**
 * Building blocks of the OpenAPI document: component schemas from zod, the contract's response
 * headers, problem+json responses. Everything here is per document or immutable: a document is
 * built by one call and shares nothing with the next.
 */
import { z } from 'zod';

export type JsonSchema = Record<string, unknown>;
type Io = 'input' | 'output';

const SCHEMA_REF = '#/components/schemas/';

/**
 * The component schemas of one document. Zod schemas named with `.meta({ id })` are referenced
 * as the paths that use them are built, then generated together by {@link build}, so a named
 * schema nested in another is a `$ref` to its own component, never a copy.
 */
export interface SchemaComponents {
  /** `{ $ref }` to the component of a named zod schema (request bodies use `input`). */
  ref(schema: z.ZodType, io?: Io): JsonSchema;
  /** A component written as JSON Schema by hand (for answers that have no zod schema). */
  define(id: string, schema: JsonSchema): JsonSchema;
  /** Every component schema referenced so far, by id. */
  build(): Record<string, JsonSchema>;
}

export function createSchemaComponents(): SchemaComponents {
  const registries: Record<Io, z.core.$ZodRegistry<{ id: string }>> = {
    input: z.registry<{ id: string }>(),
    output: z.registry<{ id: string }>(),
  };
  const handWritten: Record<string, JsonSchema> = {};

  return {
    ref(schema, io = 'output') {
      const id = z.globalRegistry.get(schema)?.id;
      if (id === undefined) throw new Error('Only schemas named with .meta({ id }) are components');
      if (!registries[io].has(schema)) registries[io].add(schema, { id });
      return { $ref: `${SCHEMA_REF}${id}` };
    },
    define(id, schema) {
      handWritten[id] = schema;
      return { $ref: `${SCHEMA_REF}${id}` };
    },
    build() {
      const all: Record<string, JsonSchema> = { ...handWritten };
      for (const io of ['output', 'input'] as const) {
        const { schemas } = z.toJSONSchema(registries[io], {
          io,
          target: 'draft-2020-12',
          unrepresentable: 'throw',
          uri: (id) => `${SCHEMA_REF}${id}`,
        });
        for (const [id, generated] of Object.entries(schemas)) {
          // Zod collects named schemas that no path references under `__shared`; naming them
          // here would hide a schema the document forgot.
          if (id === '__shared') {
            const names = Object.keys((generated as { $defs?: object }).$defs ?? {}).join(', ');
            throw new Error(`Named schemas nested in others but not referenced: ${names}`);
          }
          if (id in all) throw new Error(`Two component schemas are named ${id}`);
          // $schema is implied by OpenAPI 3.1; a $id with a fragment is not allowed at all.
          const component: JsonSchema = { ...generated };
          delete component.$schema;
          delete component.$id;
          all[id] = component;
        }
      }
      return Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b)));
    },
  };
}

/** The response headers the contract names, declared once under `components.headers`. */
export const HEADER_COMPONENTS = {
  RequestId: {
    description:
      'The id of this request in the logs: the X-Request-Id the client sent when it is 1..128 ' +
      'characters of [A-Za-z0-9._:-], else a new UUID. Sent on every response.',
    required: true,
    schema: { type: 'string', maxLength: 128 },
  },
  Location: {
    description: 'The status URL of the accepted request (the same as statusUrl in the body).',
    required: true,
    schema: { type: 'string' },
  },
  IdempotentReplayed: {
    description:
      'Present on a replay: this is the first response to the same Idempotency-Key and body ' +
      'again, and nothing was done a second time.',
    required: false,
    schema: { type: 'string', enum: ['true'] },
  },
  RetryAfter: {
    description: 'Whole seconds to wait before trying again.',
    required: true,
    schema: { type: 'integer', minimum: 0 },
  },
  PollAgainAfter: {
    description:
      'Sent while the status is not final (value 1): poll again after that many seconds.',
    required: false,
    schema: { type: 'integer', minimum: 0 },
  },
  WwwAuthenticate: {
    description: 'The authentication scheme to use: `Bearer` (with an error) or `Basic`.',
    required: true,
    schema: { type: 'string' },
  },
  Age: {
    description:
      'Seconds since this view was read from the database. Sent only while the database is ' +
      'unreachable and the last known view is served (at most CATALOG_STALE_IF_ERROR_S seconds old).',
    required: false,
    schema: { type: 'integer', minimum: 0 },
  },
} as const;

export type HeaderName = keyof typeof HEADER_COMPONENTS;

/** Wire names of the header components. */
const WIRE_NAMES: Record<HeaderName, string> = {
  RequestId: 'X-Request-Id',
  Location: 'Location',
  IdempotentReplayed: 'Idempotent-Replayed',
  RetryAfter: 'Retry-After',
  PollAgainAfter: 'Retry-After',
  WwwAuthenticate: 'WWW-Authenticate',
  Age: 'Age',
};

/** A response's `headers`: X-Request-Id always, plus the given components. */
export function headers(...names: HeaderName[]): Record<string, { $ref: string }> {
  return Object.fromEntries(
    (['RequestId', ...names] as HeaderName[]).map((name) => [
      WIRE_NAMES[name],
      { $ref: `#/components/headers/${name}` },
    ]),
  );
}

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** A problem+json response; `description` names the codes it may carry. */
export function problem(description: string, ...extra: HeaderName[]) {
  return {
    description,
    headers: headers(...extra),
    content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: `${SCHEMA_REF}Problem` } } },
  };
}

/** A JSON response with the given schema (a `$ref` from {@link SchemaComponents}). */
export function json(description: string, schema: JsonSchema, ...extra: HeaderName[]) {
  return {
    description,
    headers: headers(...extra),
    content: { 'application/json': { schema } },
  };
}

/** Problem responses shared by many operations, declared once under `components.responses`. */
export const RESPONSE_COMPONENTS = {
  NotModified: {
    description:
      'The request carried If-None-Match: * and the resource exists (responses carry no ETag, ' +
      'so nothing else matches). No body.',
    headers: headers(),
  },
  Unauthenticated: problem(
    'UNAUTHENTICATED: the credentials are missing, malformed, expired or wrong.',
    'WwwAuthenticate',
  ),
  PayloadTooLarge: problem('PAYLOAD_TOO_LARGE: the body is over 16 KiB.'),
  UnsupportedMediaType: problem(
    'UNSUPPORTED_MEDIA_TYPE: the body is not UTF-8 application/json (or is content-encoded).',
  ),
  IdempotencyKeyReused: problem(
    'IDEMPOTENCY_KEY_REUSED: this Idempotency-Key was used before with a different body.',
  ),
  RateLimited: problem(
    'RATE_LIMITED: the caller sent more than RATE_LIMIT_PER_MINUTE accepts in the last minute; ' +
      'nothing was accepted. Replays do not count.',
    'RetryAfter',
  ),
  Unavailable: problem(
    'SERVICE_UNAVAILABLE: the database or Redis is unreachable, or its circuit breaker is open.',
    'RetryAfter',
  ),
  AcceptRefused: problem(
    'OVERLOADED (admission control: the backlog or the accepts in progress are over their ' +
      'limit) or SERVICE_UNAVAILABLE (Redis is unreachable, or its replicas did not acknowledge ' +
      'in time). The outcome of an unavailable accept is unknown: retry with the same ' +
      'Idempotency-Key. A replay is answered even while new work is refused.',
    'RetryAfter',
  ),
  Internal: problem('INTERNAL: an unexpected server error (logged under the request id).'),
} as const;

export type ResponseName = keyof typeof RESPONSE_COMPONENTS;

export const response = (name: ResponseName) => ({ $ref: `#/components/responses/${name}` });

/** `limit` and `cursor` of a keyset-paginated list, declared once under `components.parameters`. */
export const PARAMETER_COMPONENTS = {
  Limit: {
    name: 'limit',
    in: 'query',
    required: false,
    description: 'Page size.',
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
  },
  Cursor: {
    name: 'cursor',
    in: 'query',
    required: false,
    description:
      'The nextCursor of the previous page, as it was returned (opaque). Omit it for the first page.',
    schema: { type: 'string', minLength: 1 },
  },
  IdempotencyKey: {
    name: 'Idempotency-Key',
    in: 'header',
    required: true,
    description:
      '1..255 visible ASCII characters, scoped per user and endpoint and remembered at least ' +
      '24 h. The same key with the same body (as JSON, key order ignored) answers the first ' +
      'response again with Idempotent-Replayed: true and does nothing twice; with a different ' +
      'body it is 422 IDEMPOTENCY_KEY_REUSED. Missing or invalid: 400 IDEMPOTENCY_KEY_REQUIRED.',
    schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
  },
} as const;

export const parameter = (name: keyof typeof PARAMETER_COMPONENTS) => ({
  $ref: `#/components/parameters/${name}`,
});

/** A path parameter holding a positive integer id (anything else is 400 VALIDATION_FAILED). */
export const integerId = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
});

/** A path parameter holding a server-generated UUID (anything else is simply not found). */
export const uuidId = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', format: 'uuid' },
});

export const bearer = [{ bearerAuth: [] }];
export const adminBasic = [{ adminBasic: [] }];
/** Explicitly public: no credentials. */
export const publicAccess: never[] = [];
