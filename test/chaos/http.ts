import { setTimeout as sleep } from 'node:timers/promises';

/** One request as the clients saw it; `status` 0 means no answer (network error or timeout). */
export interface Sample {
  kind: 'submit' | 'cancel' | 'poll' | 'probe' | 'fund';
  /** Epoch ms the request was sent. */
  at: number;
  ms: number;
  status: number;
  /** The problem+json `code` of an error answer (`OVERLOADED`, `SERVICE_UNAVAILABLE`, …). */
  code?: string;
}

export interface Answer {
  status: number;
  body: unknown;
  /** Seconds from `Retry-After`, when the server sent one. */
  retryAfter: number | undefined;
}

/** Requests the API does not answer within this are counted as no answer. */
export const REQUEST_TIMEOUT_MS = 10_000;

/** What a careful client retries, with the same Idempotency-Key: the server may come back. */
export function isRetryable(status: number): boolean {
  return status === 0 || status === 429 || status >= 500;
}

/** Requests to one API as one set of clients, every one of them recorded as a sample. */
export class ApiClient {
  readonly samples: Sample[] = [];

  constructor(private readonly baseUrl: string) {}

  post(kind: Sample['kind'], path: string, token: string, key: string, body: unknown) {
    return call(this.record, kind, `${this.baseUrl}${path}`, { method: 'POST', token, key, body });
  }

  get(kind: Sample['kind'], path: string, token: string) {
    return call(this.record, kind, `${this.baseUrl}${path}`, { method: 'GET', token });
  }

  /** Retries a POST with the same key until it is accepted; throws on a refusal. */
  async postUntilAccepted(
    kind: Sample['kind'],
    path: string,
    token: string,
    key: string,
    body: unknown,
  ): Promise<Answer> {
    for (let attempt = 1; attempt <= 100; attempt++) {
      const answer = await this.post(kind, path, token, key, body);
      if (answer.status === 202) return answer;
      if (!isRetryable(answer.status)) break;
      await sleep(retryDelayMs(attempt, answer.retryAfter));
    }
    throw new Error(`POST ${path} was never accepted`);
  }

  private readonly record = (sample: Sample): void => {
    this.samples.push(sample);
  };
}

/** A fetch that never throws: every outcome becomes an {@link Answer} and a {@link Sample}. */
export async function call(
  record: (sample: Sample) => void,
  kind: Sample['kind'],
  url: string,
  init: { method: 'GET' | 'POST'; token: string; body?: unknown; key?: string },
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${init.token}` };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.key !== undefined) headers['idempotency-key'] = init.key;
  const at = Date.now();
  const started = performance.now();
  let answer: Answer;
  try {
    const response = await fetch(url, {
      method: init.method,
      headers,
      body: init.body === undefined ? null : JSON.stringify(init.body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      // A non-JSON body (a proxy's error page) is kept as text for the record.
      body = text;
    }
    const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
    answer = {
      status: response.status,
      body,
      retryAfter: Number.isFinite(retryAfter) ? retryAfter : undefined,
    };
  } catch {
    answer = { status: 0, body: null, retryAfter: undefined };
  }
  const code = (answer.body as { code?: unknown } | null)?.code;
  record({
    kind,
    at,
    ms: Math.round(performance.now() - started),
    status: answer.status,
    ...(answer.status >= 400 && typeof code === 'string' ? { code } : {}),
  });
  return answer;
}

/** Backoff between retries of one request: Retry-After when given, else exponential; jittered. */
export function retryDelayMs(attempt: number, retryAfter: number | undefined): number {
  const base = retryAfter !== undefined ? retryAfter * 1_000 : 100 * 2 ** Math.min(attempt, 5);
  return Math.min(base, 2_000) * (0.8 + Math.random() * 0.4);
}
