import { Keys, pick, submit, tracked } from './requests';
import { acceptedOf, withWarmUp } from './phases';
import { ORIGIN_SIZE, type Scenario } from './types';

export const chargeSubmit: Scenario = {
  name: 'charge-submit',
  title: 'Charge accepts: POST /api/charges',
  description:
    'Every connection submits balance charges as fast as it can (closed loop): a random ' +
    'amount of 1,000–10,000 KRW, as a random one of many users, each under a fresh ' +
    'Idempotency-Key, with the workers running. The run ends when every accepted charge is ' +
    'COMPLETED.',
  defaults: { ...ORIGIN_SIZE, products: 10 },
  admission: 'raised',
  async run(ctx) {
    const { buyers } = ctx.world;
    const keys = new Keys(ctx.runId);
    const phases = await withWarmUp(ctx, {
      name: 'charge-submit',
      connections: ctx.size.connections,
      amount: ctx.size.amount,
      durationS: ctx.size.durationS,
      defaultKind: 'charge',
      requests: (recorder) => [
        tracked(recorder, 'charge', {
          setupRequest: (request) =>
            submit(request, '/api/charges', pick(buyers), keys.key('c'), {
              amount: 1_000 + Math.floor(Math.random() * 9_001),
            }),
        }),
      ],
    });
    return {
      phases,
      figures: [],
      checks: [],
      charts: [],
      accepted: { orders: 0, charges: acceptedOf(phases, 'charge') },
    };
  },
};
