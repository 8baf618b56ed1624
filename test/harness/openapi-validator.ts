import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** The parts of an OpenAPI 3.1 document the validator reads; the rest is kept as is. */
export type OpenApiDocument = Record<string, unknown> & {
  paths?: Record<string, Record<string, unknown>>;
};

/** A response as the harness saw it. */
export interface ObservedResponse {
  method: string;
  /** As requested, query string included. */
  path: string;
  status: number;
  headers: Headers;
  text: string;
}

/** Checks responses against one OpenAPI document. */
export interface ResponseValidator {
  /** What is wrong with the response (empty when it matches the document). */
  check(response: ObservedResponse): string[];
}

/** Response headers of the contract: when a response carries one, the document must declare it. */
const CONTRACT_HEADERS = [
  'location',
  'retry-after',
  'idempotent-replayed',
  'www-authenticate',
  'age',
];

/**
 * Served by libraries, outside the API contract: Swagger UI's page and assets, and Bull Board's
 * own API under its page (only its Basic auth is ours, and test/ops covers it).
 */
const OUTSIDE_CONTRACT = [/^\/docs(\/|$)/i, /^\/admin\/queues\/./i];

const DOCUMENT_ID = 'https://openapi.test/served.json';

/** OpenAPI's top-level fields, unknown to JSON Schema: Ajv is told they are not keywords. */
const OPENAPI_FIELDS = [
  'openapi',
  'info',
  'jsonSchemaDialect',
  'servers',
  'paths',
  'webhooks',
  'components',
  'security',
  'tags',
  'externalDocs',
];

interface Operation {
  method: string;
  template: string;
  pattern: RegExp;
  /** Path parameters: a template with fewer of them is the more specific match. */
  params: number;
  operation: { operationId?: string; responses?: Record<string, unknown> };
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const escapePointer = (segment: string) =>
  encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'));

const mediaTypeOf = (contentType: string | null) =>
  (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

const isJson = (mediaType: string) => /^application\/(.+\+)?json$/.test(mediaType);

export function createResponseValidator(document: OpenApiDocument): ResponseValidator {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  ajv.addVocabulary(OPENAPI_FIELDS);
  ajv.addSchema(document, DOCUMENT_ID);
  const compiled = new Map<string, ValidateFunction>();

  /** A validator for the schema at a JSON pointer into the document. */
  function schemaAt(pointer: string[]): ValidateFunction {
    const ref = `${DOCUMENT_ID}#/${pointer.map(escapePointer).join('/')}`;
    let validate = compiled.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: ref });
      compiled.set(ref, validate);
    }
    return validate;
  }

  /** Follows a local `$ref` (`#/components/...`), returning the object and its pointer. */
  function resolve(value: unknown, pointer: string[]): { value: Json; pointer: string[] } {
    if (!isObject(value)) return { value: {}, pointer };
    const ref = value.$ref;
    if (typeof ref !== 'string') return { value, pointer };
    const target = ref
      .replace(/^#\//, '')
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    let current: unknown = document;
    for (const segment of target) current = isObject(current) ? current[segment] : undefined;
    if (current === undefined) throw new Error(`the document's ${ref} points nowhere`);
    return resolve(current, target);
  }

  const operations: Operation[] = Object.entries(document.paths ?? {}).flatMap(([template, item]) =>
    Object.entries(item)
      .filter(([method]) =>
        ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method),
      )
      .map(([method, operation]) => ({
        method,
        template,
        // As Express routes: literal segments ignore case, and a trailing slash is optional.
        pattern: new RegExp(
          `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}/]+\}/g, '[^/]+')}/?$`,
          'i',
        ),
        params: (template.match(/\{/g) ?? []).length,
        operation: operation as Operation['operation'],
      })),
  );

  function findOperation(method: string, path: string): Operation | undefined {
    // Express answers HEAD with its GET route, without the body.
    const wanted = method === 'head' ? ['head', 'get'] : [method];
    const matches = operations
      .filter((op) => wanted.includes(op.method) && op.pattern.test(path))
      .sort((a, b) => a.params - b.params || wanted.indexOf(a.method) - wanted.indexOf(b.method));
    return matches[0];
  }

  function checkBody(
    problems: string[],
    content: unknown,
    contentPointer: string[],
    response: ObservedResponse,
  ): void {
    const hasBody = response.text !== '';
    if (!isObject(content)) {
      if (hasBody) problems.push('it has a body, but the document declares no content');
      return;
    }
    const mediaType = mediaTypeOf(response.headers.get('content-type'));
    const declared = Object.keys(content);
    const key = declared.find((type) => type.toLowerCase() === mediaType);
    if (key === undefined) {
      if (hasBody || mediaType !== '') {
        problems.push(
          `Content-Type ${mediaType || '(none)'} is not declared (declared: ${declared.join(', ')})`,
        );
      }
      return;
    }
    const media = content[key];
    if (response.method.toLowerCase() === 'head' || !isObject(media) || !('schema' in media))
      return;
    let body: unknown = response.text;
    if (isJson(mediaType)) {
      try {
        body = JSON.parse(response.text);
      } catch {
        problems.push('the body is not JSON');
        return;
      }
    }
    const validate = schemaAt([...contentPointer, key, 'schema']);
    if (!validate(body)) {
      problems.push(
        `the body does not match the schema: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`,
      );
    }
  }

  function checkHeaders(
    problems: string[],
    declaredHeaders: unknown,
    pointer: string[],
    headers: Headers,
  ): void {
    const declared = isObject(declaredHeaders) ? declaredHeaders : {};
    const names = new Set(Object.keys(declared).map((name) => name.toLowerCase()));
    for (const name of CONTRACT_HEADERS) {
      if (headers.has(name) && !names.has(name)) {
        problems.push(`header ${name} is sent but not declared for this response`);
      }
    }
    for (const [name, header] of Object.entries(declared)) {
      const { value: resolved, pointer: at } = resolve(header, [...pointer, name]);
      const value = headers.get(name);
      if (value === null) {
        if (resolved.required === true) problems.push(`required header ${name} is missing`);
        continue;
      }
      if (!isObject(resolved.schema)) continue;
      const type = resolved.schema.type;
      const typed = type === 'integer' || type === 'number' ? Number(value) : value;
      const validate = schemaAt([...at, 'schema']);
      if (!validate(typed)) {
        problems.push(
          `header ${name}: ${JSON.stringify(value)} ${ajv.errorsText(validate.errors, { dataVar: 'value' })}`,
        );
      }
    }
  }

  /** What an unknown route answers: the contract's 404 NOT_FOUND problem. */
  function checkNotFound(problems: string[], response: ObservedResponse): void {
    const problemSchema = schemaAt(['components', 'schemas', 'Problem']);
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      body = undefined;
    }
    const isNotFound =
      response.status === 404 &&
      mediaTypeOf(response.headers.get('content-type')) === 'application/problem+json' &&
      problemSchema(body) &&
      isObject(body) &&
      body.code === 'NOT_FOUND';
    if (!isNotFound) {
      problems.push(
        `no operation is documented for it, and it is not the contract's 404 NOT_FOUND problem`,
      );
    }
  }

  return {
    check(response) {
      const problems: string[] = [];
      const method = response.method.toLowerCase();
      const path = response.path.split('?')[0] ?? '';
      if (OUTSIDE_CONTRACT.some((pattern) => pattern.test(path))) return [];
      const found = findOperation(method, path);
      if (!found) {
        checkNotFound(problems, response);
        return problems;
      }
      const responses = found.operation.responses ?? {};
      const status = String(response.status);
      const key = [status, `${status[0] ?? ''}XX`, 'default'].find((k) => k in responses);
      const name = found.operation.operationId ?? `${found.method} ${found.template}`;
      if (key === undefined) {
        problems.push(
          `status ${status} is not declared for ${name} (declared: ${Object.keys(responses).join(', ')})`,
        );
        return problems;
      }
      const declared = resolve(responses[key], [
        'paths',
        found.template,
        found.method,
        'responses',
        key,
      ]);
      checkHeaders(
        problems,
        declared.value.headers,
        [...declared.pointer, 'headers'],
        response.headers,
      );
      checkBody(problems, declared.value.content, [...declared.pointer, 'content'], response);
      return problems.map((problem) => `${name}: ${problem}`);
    },
  };
}
