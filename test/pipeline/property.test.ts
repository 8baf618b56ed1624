import fc from 'fast-check';
import { reconcile } from '../../shared/db/reconcile';
import { request } from '../harness/http';
import {
  insertProduct,
  submitCharge,
  submitOrder,
  usePipelineWorld,
  waitForFinal,
} from '../harness/pipeline';

const world = usePipelineWorld({ WORKER_CONCURRENCY: '8' });

type Op =
  | { kind: 'charge'; user: number; amount: number }
  | { kind: 'order'; user: number; items: { productId: number; quantity: number }[] };

const PRODUCTS = [
  { id: 1, price: 700 },
  { id: 2, price: 1_300 },
  { id: 3, price: 4_100 },
];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('charge' as const),
    user: fc.integer({ min: 0, max: 3 }),
    amount: fc.integer({ min: 1, max: 20_000 }),
  }),
  fc.record({
    kind: fc.constant('order' as const),
    user: fc.integer({ min: 0, max: 3 }),
    items: fc.uniqueArray(
      fc.record({ productId: fc.constantFrom(1, 2, 3), quantity: fc.integer({ min: 1, max: 6 }) }),
      { minLength: 1, maxLength: 3, selector: (item) => item.productId },
    ),
  }),
);

let run = 0;

describe('Property: random mixes of charges and orders', () => {
  it('For any mix submitted concurrently, money and stock are conserved and nothing goes negative', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 25 }),
        fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 3, maxLength: 3 }),
        async (ops, stocks) => {
          run++;
          // Fresh users and products per run, so runs do not see each other's state.
          const userBase = run * 100;
          const productBase = run * 10;
          for (const [i, p] of PRODUCTS.entries()) {
            await insertProduct(world.ctx, {
              id: productBase + p.id,
              price: p.price,
              stock: stocks[i] ?? 0,
            });
          }
          const tokens = await Promise.all(
            [0, 1, 2, 3].map((u) => world.ctx.tokenFor(userBase + u)),
          );
          const token = (user: number) => tokens[user] ?? '';

          const submitted = await Promise.all(
            ops.map(async (op) => {
              const s =
                op.kind === 'charge'
                  ? await submitCharge(world.api.baseUrl, token(op.user), op.amount)
                  : await submitOrder(
                      world.api.baseUrl,
                      token(op.user),
                      op.items.map((i) => ({
                        productId: productBase + i.productId,
                        quantity: i.quantity,
                      })),
                    );
              if (s.status !== 202) throw new Error(`not accepted: ${s.status}`);
              return {
                op,
                final: await waitForFinal<{ status: string; totalAmount?: number | null }>(
                  world.api.baseUrl,
                  token(op.user),
                  s.statusUrl,
                ),
              };
            }),
          );

          // The model: per user, balance = completed charges - paid orders; per product,
          // stock = initial - paid quantities.
          for (const user of [0, 1, 2, 3]) {
            const mine = submitted.filter((s) => s.op.user === user);
            const expected =
              mine.reduce(
                (sum, s) =>
                  s.op.kind === 'charge' && s.final.status === 'COMPLETED'
                    ? sum + s.op.amount
                    : sum,
                0,
              ) -
              mine.reduce(
                (sum, s) =>
                  s.op.kind === 'order' && s.final.status === 'PAID'
                    ? sum + (s.final.totalAmount ?? 0)
                    : sum,
                0,
              );
            const balance = await request<{ balance: number }>(
              world.api.baseUrl,
              'GET',
              '/api/balance',
              { token: token(user) },
            );
            expect(balance.body.balance).toBe(expected);
            expect(balance.body.balance).toBeGreaterThanOrEqual(0);
          }
          for (const [i, p] of PRODUCTS.entries()) {
            const sold = submitted.reduce(
              (sum, s) =>
                s.op.kind === 'order' && s.final.status === 'PAID'
                  ? sum + (s.op.items.find((it) => it.productId === p.id)?.quantity ?? 0)
                  : sum,
              0,
            );
            // From the database: the API's product view may lag by up to 5 s by contract.
            const [rows] = await world.ctx.sequelize.query(
              'SELECT stock FROM products WHERE id = ?',
              {
                replacements: [productBase + p.id],
              },
            );
            expect((rows as { stock: number }[])[0]?.stock).toBe((stocks[i] ?? 0) - sold);
          }
          const drift = (await reconcile(world.ctx.sequelize)).filter(
            (c) => c.violations.length > 0,
          );
          expect(drift).toEqual([]);
        },
      ),
      { numRuns: 15 },
    );
  }, 180_000);
});
