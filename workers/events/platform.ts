import {
  EVENT_ID_HEADER,
  SIGNATURE_HEADER,
  serializeEvent,
  signBody,
  type OrderEvent,
} from '../../shared/order-events';

/** What one POST to the data platform came to. Never an exception: failing is expected. */
export type PlatformAnswer = { ok: true; status: number } | { ok: false; reason: string };

export interface PlatformClient {
  send(event: OrderEvent): Promise<PlatformAnswer>;
}

export interface PlatformClientOptions {
  url: string;
  secret: string;
  /** No answer within this long counts as a failure (the contract's 5 s by default). */
  timeoutMs: number;
}

/** Read by shape, not `instanceof`: fetch's errors may come from another realm (test VMs). */
function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (field(error, 'name') === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // fetch wraps network errors: the useful part (ECONNREFUSED, ...) is the cause's code.
  const code = field(field(error, 'cause'), 'code');
  const message = field(error, 'message');
  const text = typeof message === 'string' ? message : String(error);
  return typeof code === 'string' ? `${text}: ${code}` : text;
}

/**
 * POSTs signed events to the data platform. The body is serialised once and that exact string
 * is both signed and sent, so the receiver can verify the raw bytes it got.
 */
export function createPlatformClient(options: PlatformClientOptions): PlatformClient {
  return {
    async send(event) {
      const body = serializeEvent(event);
      try {
        const response = await fetch(options.url, {
          method: 'POST',
          body,
          headers: {
            'Content-Type': 'application/json',
            [EVENT_ID_HEADER]: event.eventId,
            [SIGNATURE_HEADER]: signBody(options.secret, body),
          },
          // A redirect is not an acknowledgement: it is answered like any other non-2xx.
          redirect: 'manual',
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        // The answer's body is never needed; dropping it frees the connection without
        // buffering whatever the platform sent.
        await response.body?.cancel().catch(() => undefined);
        if (response.status >= 200 && response.status < 300) {
          return { ok: true, status: response.status };
        }
        return { ok: false, reason: `HTTP ${response.status}` };
      } catch (error) {
        return { ok: false, reason: describeFailure(error, options.timeoutMs) };
      }
    },
  };
}
