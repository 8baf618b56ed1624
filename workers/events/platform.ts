import http from 'node:http';
import https from 'node:https';
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
  /** Closes the kept-alive connections (shutdown); sends after it open new ones. */
  close(): void;
}

export interface PlatformClientOptions {
  url: string;
  secret: string;
  /** No answer within this long counts as a failure (the contract's 5 s by default). */
  timeoutMs: number;
  /**
   * POSTs in flight, and connections kept open to the platform, at most (the events worker's
   * concurrency). More sends wait for a turn; the timeout of each starts with its turn.
   */
  maxSockets: number;
}

/**
 * A timeout or a network error as the row's `last_error` (`connect ECONNREFUSED …`). The
 * message is read by shape, not `instanceof`: Node's errors may come from another realm (the
 * tests' VMs).
 */
function describeFailure(error: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const message = typeof error === 'object' && error !== null && 'message' in error;
  return message && typeof error.message === 'string' ? error.message : String(error);
}

/**
 * POSTs signed events to the data platform over kept-alive connections of its own. The body
 * is serialised once and that exact string is both signed and sent, so the receiver can
 * verify the raw bytes it got. Sent with `node:http`/`node:https`, not `fetch`: the same POST
 * costs fetch several times the CPU (load/REPORT.md, "Event delivery"). A redirect is not an
 * acknowledgement: it is answered like any other non-2xx (this client never follows one).
 */
export function createPlatformClient(options: PlatformClientOptions): PlatformClient {
  const target = new URL(options.url);
  const transport = target.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: options.maxSockets });
  // Sends beyond maxSockets wait here, not in the agent's queue, where their timeout would
  // run: a group job hands its events over all at once (./processor.ts).
  let active = 0;
  const turns: (() => void)[] = [];
  const turn = async (): Promise<void> => {
    if (active < options.maxSockets) {
      active++;
      return;
    }
    await new Promise<void>((resolve) => turns.push(resolve));
  };
  const done = (): void => {
    const next = turns.shift();
    if (next) next();
    else active--;
  };

  return {
    async send(event) {
      await turn();
      try {
        return await post(event);
      } finally {
        done();
      }
    },
    close() {
      agent.destroy();
    },
  };

  function post(event: OrderEvent): Promise<PlatformAnswer> {
    const body = serializeEvent(event);
    return new Promise<PlatformAnswer>((resolve) => {
      let timedOut = false;
      const request = transport.request(target, {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(body),
          [EVENT_ID_HEADER]: event.eventId,
          [SIGNATURE_HEADER]: signBody(options.secret, body),
        },
      });
      // The whole exchange within the timeout, waiting for a connection included; a body
      // that never ends past it loses its connection (the answer was given at its status).
      const timer = setTimeout(() => {
        timedOut = true;
        request.destroy(new Error('timed out'));
      }, options.timeoutMs);
      request.on('response', (response) => {
        // The answer's body is never needed; reading it to the end frees the connection.
        response.on('end', () => {
          clearTimeout(timer);
        });
        response.resume();
        const status = response.statusCode ?? 0;
        resolve(
          status >= 200 && status < 300
            ? { ok: true, status }
            : { ok: false, reason: `HTTP ${status}` },
        );
      });
      request.on('error', (error) => {
        clearTimeout(timer);
        resolve({ ok: false, reason: describeFailure(error, timedOut, options.timeoutMs) });
      });
      request.end(body);
    });
  }
}
