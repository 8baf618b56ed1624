import { get, pick, tracked } from './requests';
import { withWarmUp } from './phases';
import { ORIGIN_SIZE, type Scenario } from './types';

export const productDetail: Scenario = {
  name: 'product-detail',
  title: 'Product detail: GET /api/products/:id',
  description:
    'Every connection reads the detail of a random product among the seeded ones, as fast as ' +
    'it can (closed loop). This is the cached read path the "≥ 0.9× Express hello-world" ' +
    'target is about; no user token, no writes, the workers idle.',
  defaults: { ...ORIGIN_SIZE, users: 0 },
  admission: 'raised',
  async run(ctx) {
    const ids = ctx.world.productIds;
    const phases = await withWarmUp(ctx, {
      name: 'product-detail',
      connections: ctx.size.connections,
      amount: ctx.size.amount,
      durationS: ctx.size.durationS,
      defaultKind: 'product',
      requests: (recorder) => [
        tracked(recorder, 'product', {
          setupRequest: (request) => get(request, `/api/products/${pick(ids)}`),
        }),
      ],
    });
    return {
      phases,
      figures: [],
      checks: [],
      charts: [],
      accepted: { orders: 0, charges: 0 },
    };
  },
};
