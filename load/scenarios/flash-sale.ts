import { Keys, oneItem, submit, tracked } from './requests';
import { orderCharts, percentiles, summariseFinalisation } from './timings';
import { ORIGIN_SIZE, type Check, type Scenario, type ScenarioOutcome } from './types';

const DEFAULT_STOCK = 100;

export const flashSale: Scenario = {
  name: 'flash-sale',
  title: 'Flash sale: everyone buys one hot product',
  description:
    'One product with little stock (`--stock`, default 100); every request is a different ' +
    'funded user ordering one unit of it, as fast as the connections allow. All orders ' +
    'contend for one row. Afterwards exactly min(stock, accepted) orders must be PAID, the ' +
    'rest FAILED with INSUFFICIENT_STOCK, and the product’s stock must be what was not sold.',
  defaults: { ...ORIGIN_SIZE, amount: 10_000, warmupS: 0, users: 10_000, products: 10 },
  admission: 'raised',
  async run(ctx) {
    const stock = ctx.size.stock ?? DEFAULT_STOCK;
    const [hot] = await ctx.world.addProducts(1, stock);
    if (hot === undefined) throw new Error('no hot product');
    ctx.log(`hot product ${hot} with stock ${stock}`);
    const { buyers } = ctx.world;
    const keys = new Keys(ctx.runId);
    let next = 0;
    const phase = await ctx.runPhase({
      name: 'flash-sale',
      connections: ctx.size.connections,
      amount: ctx.size.amount,
      durationS: ctx.size.durationS,
      defaultKind: 'order',
      requests: (recorder) => [
        tracked(recorder, 'order', {
          // Buyers in turn: each is a different user until every buyer has had a go.
          setupRequest: (request) => {
            const buyer = buyers[next++ % buyers.length];
            if (!buyer) throw new Error('no buyers');
            return submit(request, '/api/orders', buyer, keys.key('f'), oneItem(hot));
          },
        }),
      ],
    });
    const accepted = phase.byKind.order?.statuses['202'] ?? 0;
    const submitEnd = phase.startedAt + phase.durationS * 1_000;
    const outcome: ScenarioOutcome = {
      phases: [phase],
      figures: [{ label: 'hot product', value: `id ${hot}, stock ${stock}` }],
      checks: [],
      charts: [],
      accepted: { orders: accepted, charges: 0 },
      verify: async (): Promise<Check[]> => {
        const result = await ctx.world.hotProduct(hot);
        const timings = await ctx.world.orderTimings();
        const summary = summariseFinalisation(timings, phase.startedAt, submitEnd);
        outcome.charts.push(...orderCharts(timings, phase.startedAt));
        const paidTimes = timings.filter((t) => t.status === 'PAID').map((t) => t.finalAt);
        let soldOutAt = phase.startedAt;
        for (const at of paidTimes) soldOutAt = Math.max(soldOutAt, at);
        outcome.figures.push(
          {
            label: 'orders final',
            value: `${summary.orders} (${summary.paid} PAID, ${summary.failed} FAILED)`,
          },
          {
            label: 'last PAID (sold out) after',
            value: `${((soldOutAt - phase.startedAt) / 1_000).toFixed(2)} s`,
          },
          { label: 'finalised/s (start → last final)', value: String(summary.finalisedPerSecond) },
          {
            label: 'accept → final p50 / p95 / p99',
            value: percentiles(summary.acceptToFinal),
          },
        );
        const paid = result.orders.PAID ?? 0;
        // Rows, not 202s: an order the client timed out on may have been accepted too.
        const placed = Object.values(result.orders).reduce((a, b) => a + b, 0);
        const expectedPaid = Math.min(stock, placed);
        const refused = result.orders['FAILED INSUFFICIENT_STOCK'] ?? 0;
        return [
          {
            name: 'exactly min(stock, orders) PAID',
            ok: paid === expectedPaid,
            detail: `${paid} PAID of ${placed} orders (${accepted} answered 202) for stock ${stock}`,
          },
          {
            name: 'stock left = stock − sold',
            ok: result.stock === stock - paid,
            detail: `stock ${result.stock}; ${stock} − ${paid} = ${stock - paid}`,
          },
          {
            name: 'every other order FAILED with INSUFFICIENT_STOCK',
            ok: paid + refused === placed,
            detail: `${refused} INSUFFICIENT_STOCK; by status: ${JSON.stringify(result.orders)}`,
          },
        ];
      },
    };
    return outcome;
  },
};
