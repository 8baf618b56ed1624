import type autocannon from 'autocannon';
import { problemCode } from './cannon';
import type { Recorder } from './recorder';
import type { Buyer } from './world';

/** autocannon hands each connection's `context` to setupRequest and onResponse. */
export type Context = Record<string, unknown>;

export function pick<T>(items: readonly T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('nothing to pick from');
  return item;
}

/** Idempotency-Keys unique to the run: `<runId>-<kind><n>`. */
export class Keys {
  private next = 0;

  constructor(private readonly runId: string) {}

  key(kind: string): string {
    return `${this.runId}-${kind}${this.next++}`;
  }

  get issued(): number {
    return this.next;
  }
}

/**
 * A request template whose answers are recorded as `kind` (or the kind setupRequest put in the
 * connection's context as `kind`), error answers with their problem code. `onAnswer` sees every
 * answer too, e.g. to collect the statusUrl of an accepted order.
 */
export function tracked(
  recorder: Recorder,
  kind: string,
  template: Omit<autocannon.Request, 'onResponse'>,
  onAnswer?: (status: number, body: string, context: Context) => void,
): autocannon.Request {
  return {
    ...template,
    onResponse: (status, body, context) => {
      const ctx = context as Context;
      const chosen = typeof ctx.kind === 'string' ? ctx.kind : kind;
      recorder.note(chosen, problemCode(status, body));
      onAnswer?.(status, body, ctx);
    },
  };
}

/** A POST of `body` as `buyer`, under a fresh Idempotency-Key. */
export function submit(
  request: autocannon.Request,
  path: string,
  buyer: Buyer,
  key: string,
  body: unknown,
): autocannon.Request {
  return {
    ...request,
    method: 'POST',
    path,
    headers: {
      ...request.headers,
      'content-type': 'application/json',
      authorization: buyer.authorization,
      'idempotency-key': key,
    },
    body: JSON.stringify(body),
  };
}

/** A GET, as `buyer` when given; clears any body a previous template set. */
export function get(request: autocannon.Request, path: string, buyer?: Buyer): autocannon.Request {
  return {
    ...request,
    method: 'GET',
    path,
    headers: buyer ? { authorization: buyer.authorization } : {},
    body: undefined,
  };
}

/** An order of one unit of one product (the shape the throughput targets are stated for). */
export const oneItem = (productId: number) => ({ items: [{ productId, quantity: 1 }] });
