import type autocannon from 'autocannon';
import { get, Keys, pick, submit, tracked, type Context } from './requests';
import { acceptedOf, withWarmUp } from './phases';
import { ORIGIN_SIZE, type Scenario } from './types';
import type { Buyer } from './world';

/** Share of each kind of request; they add up to 1. */
const MIX = [
  { kind: 'product', share: 0.4 },
  { kind: 'list', share: 0.15 },
  { kind: 'top', share: 0.05 },
  { kind: 'order', share: 0.25 },
  { kind: 'poll', share: 0.1 },
  { kind: 'cancel', share: 0.05 },
] as const;

type Kind = (typeof MIX)[number]['kind'];

/** Status URLs of recently accepted orders, with whose they are (a poll needs the owner's token). */
class Accepted {
  private readonly items: { path: string; buyer: Buyer }[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  add(path: string, buyer: Buyer): void {
    if (this.items.length < this.capacity) this.items.push({ path, buyer });
    else this.items[this.next++ % this.capacity] = { path, buyer };
  }

  pick(): { path: string; buyer: Buyer } | undefined {
    return this.items.length === 0 ? undefined : pick(this.items);
  }
}

function choose(): Kind {
  let roll = Math.random();
  for (const { kind, share } of MIX) {
    roll -= share;
    if (roll < 0) return kind;
  }
  return 'product';
}

/** 1–3 distinct products, one unit each. */
function basket(productIds: number[]) {
  const ids = new Set<number>();
  const size = 1 + Math.floor(Math.random() * 3);
  for (let i = 0; i < 10 && ids.size < size; i++) ids.add(pick(productIds));
  return { items: [...ids].map((productId) => ({ productId, quantity: 1 })) };
}

export const mix: Scenario = {
  name: 'mix',
  title: 'Realistic mix: browse, order, poll, cancel',
  description:
    'Each request is drawn at random: 60 % browsing (40 % product detail, 15 % product list, ' +
    '5 % top products), 25 % orders of 1–3 products, 10 % polls of the statusUrl of a ' +
    'recently accepted order as its owner, 5 % cancellations of such an order by its owner ' +
    '(a detail read until the first order is accepted). Closed loop; latency is reported ' +
    'per kind.',
  defaults: { ...ORIGIN_SIZE },
  admission: 'raised',
  async run(ctx) {
    const { productIds, buyers } = ctx.world;
    const keys = new Keys(ctx.runId);
    const accepted = new Accepted(5_000);
    const setup = (request: autocannon.Request, context: object): autocannon.Request => {
      const ctxt = context as Context;
      let kind = choose();
      const poll = kind === 'poll' || kind === 'cancel' ? accepted.pick() : undefined;
      if ((kind === 'poll' || kind === 'cancel') && !poll) kind = 'product';
      ctxt.kind = kind;
      switch (kind) {
        case 'product':
          return get(request, `/api/products/${pick(productIds)}`);
        case 'list':
          return get(request, `/api/products?limit=20`);
        case 'top':
          return get(request, '/api/products/top');
        case 'order': {
          const buyer = pick(buyers);
          ctxt.buyer = buyer;
          return submit(request, '/api/orders', buyer, keys.key('o'), basket(productIds));
        }
        case 'poll':
          return get(request, poll?.path ?? '/', poll?.buyer);
        case 'cancel':
          // The order's owner cancels it (a replay if it was cancelled before is a new key: a
          // second cancellation, applied as a no-op).
          return submit(
            request,
            `${poll?.path ?? '/'}/cancel`,
            poll?.buyer as Buyer,
            keys.key('c'),
            {},
          );
      }
    };
    const phases = await withWarmUp(ctx, {
      name: 'mix',
      connections: ctx.size.connections,
      amount: ctx.size.amount,
      durationS: ctx.size.durationS,
      defaultKind: 'product',
      requests: (recorder) => [
        tracked(recorder, 'product', { setupRequest: setup }, (status, body, context) => {
          if (context.kind !== 'order' || status !== 202) return;
          const { statusUrl } = JSON.parse(body) as { statusUrl: string };
          accepted.add(statusUrl, context.buyer as Buyer);
        }),
      ],
    });
    return {
      phases,
      figures: [],
      checks: [],
      charts: [],
      accepted: { orders: acceptedOf(phases, 'order'), charges: 0 },
    };
  },
};
