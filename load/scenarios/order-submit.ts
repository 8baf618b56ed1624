import { Keys, oneItem, pick, submit, tracked } from './requests';
import { acceptedOf, withWarmUp } from './phases';
import { ORIGIN_SIZE, type Scenario } from './types';

export const orderSubmit: Scenario = {
  name: 'order-submit',
  title: 'Order accepts: POST /api/orders',
  description:
    'Every connection submits orders as fast as it can (closed loop): one unit of a random ' +
    'product, as a random one of many funded users, each under a fresh Idempotency-Key. The ' +
    'workers run meanwhile, so accepting competes with processing for the CPU, as in ' +
    'production; the run ends when every accepted order is final. It measured the retired ' +
    '"order accepts ≥ 0.6× Express hello-world (workers running)" target; the cost of an ' +
    'accept is now measured by `npm run bench` (load/REPORT.md, "Cost per order").',
  defaults: { ...ORIGIN_SIZE },
  admission: 'raised',
  async run(ctx) {
    const { productIds, buyers } = ctx.world;
    const keys = new Keys(ctx.runId);
    const phases = await withWarmUp(ctx, {
      name: 'order-submit',
      connections: ctx.size.connections,
      amount: ctx.size.amount,
      durationS: ctx.size.durationS,
      defaultKind: 'order',
      requests: (recorder) => [
        tracked(recorder, 'order', {
          setupRequest: (request) =>
            submit(request, '/api/orders', pick(buyers), keys.key('o'), oneItem(pick(productIds))),
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
