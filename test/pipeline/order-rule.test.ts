import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import type { OrderJob } from '../../shared/queues/orders';
import { decideOrders } from '../../workers/orders/decide-orders';
import { specify, type SpecOrder } from './order-rule-spec';

/**
 * The one rule every order path uses (a batch of one or of a hundred), against the contract's
 * rules written out plainly in ./order-rule-spec.ts. No database: the rule is pure, so it runs
 * over many more cases here than the database tests can afford.
 */

const USERS = [1, 2, 3];

const start = fc.record({
  // Products 1..5, each present or not; users 1..3, each with a row or not.
  products: fc.array(
    fc.option(fc.record({ stock: fc.nat({ max: 8 }), price: fc.nat({ max: 300 }) })),
    { minLength: 5, maxLength: 5 },
  ),
  balances: fc.array(fc.option(fc.nat({ max: 1_500 })), { minLength: 3, maxLength: 3 }),
});

const order: fc.Arbitrary<SpecOrder> = fc.record({
  userId: fc.constantFrom(...USERS),
  items: fc.uniqueArray(
    fc.record({
      productId: fc.integer({ min: 1, max: 6 }),
      quantity: fc.integer({ min: 1, max: 4 }),
    }),
    { minLength: 1, maxLength: 4, selector: (i) => i.productId },
  ),
});

const asJob = (o: SpecOrder): OrderJob => ({
  orderId: randomUUID(),
  userId: o.userId,
  items: [...o.items],
  idempotencyKey: randomUUID(),
  acceptedAt: new Date(0).toISOString(),
});

describe('The order rule (decideOrders)', () => {
  it('For any orders and any locked stock, prices and balances, each order is decided as the contract says, in turn, and the takes and debits add up to the paid orders', () => {
    fc.assert(
      fc.property(start, fc.array(order, { minLength: 1, maxLength: 30 }), (from, orders) => {
        const products = new Map(
          from.products.flatMap((p, i) => (p === null ? [] : [[i + 1, p] as const])),
        );
        const balances = new Map(
          from.balances.flatMap((b, i) => (b === null ? [] : [[USERS[i] ?? 0, b] as const])),
        );
        const spec = specify(orders, { products, balances });
        const decided = decideOrders(orders.map(asJob), { products, balances });

        expect(
          decided.orders.map((d) =>
            'paid' in d
              ? { status: 'PAID', failureCode: null, totalAmount: d.paid.total }
              : {
                  status: 'FAILED',
                  failureCode: d.refused.code,
                  totalAmount: d.refused.totalAmount,
                },
          ),
        ).toEqual(spec.outcomes);

        const takes = new Map(
          [...spec.stock].filter(([, p]) => p.sold > 0).map(([id, p]) => [id, p.sold]),
        );
        expect(new Map([...decided.takes].sort(([a], [b]) => a - b))).toEqual(takes);
        const debits = new Map(
          [...spec.balances]
            .map(([user, after]): [number, number] => [user, (balances.get(user) ?? 0) - after])
            .filter(([, debit]) => debit > 0),
        );
        expect(new Map([...decided.debits].sort(([a], [b]) => a - b))).toEqual(debits);
      }),
      { numRuns: 2_000 },
    );
  });

  it('When an order is paid, then its items carry the locked prices and its ledger balance is what the user had left', () => {
    const products = new Map([
      [1, { stock: 5, price: 100 }],
      [2, { stock: 5, price: 30 }],
    ]);
    const balances = new Map([[7, 500]]);
    const jobs = [
      asJob({
        userId: 7,
        items: [
          { productId: 2, quantity: 2 },
          { productId: 1, quantity: 1 },
        ],
      }),
      asJob({ userId: 7, items: [{ productId: 1, quantity: 3 }] }),
      asJob({ userId: 7, items: [{ productId: 1, quantity: 1 }] }),
    ];
    const decided = decideOrders(jobs, { products, balances });
    expect(decided.orders.map((d) => ('paid' in d ? d.paid : d.refused))).toEqual([
      {
        items: [
          { productId: 1, quantity: 1, unitPrice: 100 },
          { productId: 2, quantity: 2, unitPrice: 30 },
        ],
        total: 160,
        balanceAfter: 340,
      },
      { items: [{ productId: 1, quantity: 3, unitPrice: 100 }], total: 300, balanceAfter: 40 },
      {
        code: 'INSUFFICIENT_BALANCE',
        items: [{ productId: 1, quantity: 1, unitPrice: 100 }],
        totalAmount: 100,
      },
    ]);
  });
});
