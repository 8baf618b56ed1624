import http from 'node:http';
import {
  createResponseValidator,
  type ObservedResponse,
  type OpenApiDocument,
  type ResponseValidator,
} from './openapi-validator';

/**
 * Base URLs whose responses are checked against the OpenAPI document they serve, each with its
 * validator (built from one fetch of `/openapi.json`, on first use). The harness's API
 * helpers register every app they start; other servers (fakes, stubs) are never checked.
 */
const checked = new Map<string, Promise<ResponseValidator> | undefined>();

/**
 * From now on, every response that {@link request}, {@link rawRequest} and
 * {@link checkedFetch} get from `baseUrl` must match the OpenAPI document served at
 * `baseUrl/openapi.json`: a mismatch fails the request with what is wrong. Returns a function
 * that stops the checks (call it when the server closes: its port may serve something else).
 */
export function checkResponsesAgainstOpenApi(baseUrl: string): () => void {
  const { origin } = new URL(baseUrl);
  checked.set(origin, undefined);
  return () => {
    checked.delete(origin);
  };
}

async function validatorFor(origin: string): Promise<ResponseValidator | undefined> {
  if (!checked.has(origin)) return undefined;
  let validator = checked.get(origin);
  if (validator === undefined) {
    validator = fetch(`${origin}/openapi.json`).then(async (response) => {
      if (!response.ok) throw new Error(`${origin}/openapi.json answered ${response.status}`);
      return createResponseValidator((await response.json()) as OpenApiDocument);
    });
    checked.set(origin, validator);
  }
  return validator;
}

/**
 * Throws when the server at the URL's origin is checked and the response does not match its
 * document. The URL is the one sent (fetch and node:http normalise what the test wrote).
 */
async function checkResponse(url: URL, observed: Omit<ObservedResponse, 'path'>): Promise<void> {
  const validator = await validatorFor(url.origin);
  const response = { ...observed, path: `${url.pathname}${url.search}` };
  const problems = validator?.check(response) ?? [];
  if (problems.length > 0) {
    throw new Error(
      `The response to ${response.method} ${response.path} (${response.status}) does not match ` +
        `the OpenAPI document:\n  - ${problems.join('\n  - ')}\nbody: ${response.text.slice(0, 500)}`,
    );
  }
}

/**
 * fetch, with the response checked as {@link request} checks it (for clients that take a
 * fetch, such as the typed client). The body stays readable.
 */
export const checkedFetch: typeof fetch = async (input, init) => {
  const req = new Request(input, init);
  const response = await fetch(req);
  await checkResponse(new URL(req.url), {
    method: req.method,
    status: response.status,
    headers: response.headers,
    text: await response.clone().text(),
  });
  return response;
};

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  /** Serialised as JSON unless it is already a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** A real HTTP request to the app under test; parses JSON and problem+json bodies. */
export async function request<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<HttpResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const url = new URL(`${baseUrl}${path}`);
  const response = await fetch(url, { method, headers, body });
  const text = await response.text();
  await checkResponse(url, { method, status: response.status, headers: response.headers, text });
  const type = response.headers.get('content-type') ?? '';
  const parsed: unknown = /json/.test(type) && text !== '' ? JSON.parse(text) : text;
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** A problem+json body as the contract defines it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

/** Asserts the contract's problem+json shape and returns the body for further checks. */
export function expectProblem(response: HttpResponse, status: number, code: string): Problem {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toEqual(
    expect.objectContaining({
      type: 'about:blank',
      title: expect.any(String),
      status,
      code,
      detail: expect.any(String),
    }),
  );
  expect(response.text).not.toMatch(/at .*\.(ts|js):\d+/);
  return response.body as Problem;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Written one chunk after another; without Content-Length they are sent chunked. */
  chunks?: (string | Buffer)[];
}

/**
 * A request through node:http, for what fetch will not send: bodies without a Content-Type,
 * chunked uploads. Resolves with the response, or rejects if the server drops the connection.
 */
export function rawRequest(baseUrl: string, raw: RawRequest): Promise<HttpResponse> {
  const url = new URL(raw.path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: raw.method, headers: raw.headers ?? {}, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (typeof value === 'string') headers.set(name, value);
          }
          const status = res.statusCode ?? 0;
          checkResponse(url, { method: raw.method, status, headers, text })
            .then(() => {
              const parsed: unknown =
                /json/.test(headers.get('content-type') ?? '') && text !== ''
                  ? JSON.parse(text)
                  : text;
              resolve({ status, headers, body: parsed, text });
            })
            .catch(reject);
        });
      },
    );
    req.on('error', reject);
    for (const chunk of raw.chunks ?? []) req.write(chunk);
    req.end();
  });
}
