import http from 'node:http';

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
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
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
          const parsed: unknown =
            /json/.test(headers.get('content-type') ?? '') && text !== '' ? JSON.parse(text) : text;
          resolve({ status: res.statusCode ?? 0, headers, body: parsed, text });
        });
      },
    );
    req.on('error', reject);
    for (const chunk of raw.chunks ?? []) req.write(chunk);
    req.end();
  });
}
