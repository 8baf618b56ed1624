import { randomUUID } from 'node:crypto';
import { createBalancesRepository } from '../../shared/db/repositories/balances';
import { createChargesRepository, type NewCharge } from '../../shared/db/repositories/charges';
import { createOrdersRepository, type NewOrder } from '../../shared/db/repositories/orders';
import { createStockRepository } from '../../shared/db/repositories/stock';
import { inTransaction } from '../../shared/db/transaction';
import { uuidv7 } from '../../shared/ids';
import { createTestContext, type TestContext } from '../harness/context';
import { insertProducts, insertUser } from '../harness/builders';

/**
 * What the repositories answer when a unique key or a guard refuses a write: typed outcomes
 * the use-cases decide on, taken from the driver's error number and a lookup by the columns
 * that matter, never from the server's message.
 */
let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx.destroy();
});

const orderRow = (userId: number, idempotencyKey: string, id = uuidv7()): NewOrder => ({
  id,
  userId,
  status: 'FAILED',
  totalAmount: null,
  failureCode: 'PRODUCT_NOT_FOUND',
  idempotencyKey,
  requestId: null,
  createdAt: new Date(),
  paidAt: null,
  cancelledAt: null,
  refundedAmount: null,
  updatedAt: new Date(),
});

const chargeRow = (userId: number, idempotencyKey: string, id = uuidv7()): NewCharge => ({
  id,
  userId,
  amount: 100,
  status: 'ON_HOLD',
  failureCode: null,
  balanceAfter: null,
  idempotencyKey,
  requestId: null,
  createdAt: new Date(),
  completedAt: null,
});

describe('Orders: duplicates are outcomes', () => {
  const orders = () => createOrdersRepository(ctx.sequelize);
  const insert = (row: NewOrder) =>
    inTransaction(ctx.sequelize, (tx) =>
      orders().insert(tx, row, [{ productId: 1, quantity: 1, unitPrice: null }]),
    );

  it('When an order id or a user and idempotency key is already recorded, then insert answers duplicate, writes nothing, and findRecorded says which key holds it', async () => {
    const key = randomUUID();
    const first = orderRow(1, key);
    await expect(insert(first)).resolves.toBe('inserted');

    const sameId = { ...orderRow(2, randomUUID()), id: first.id };
    const sameKey = orderRow(1, key);
    await expect(insert(sameId)).resolves.toBe('duplicate');
    await expect(insert(sameKey)).resolves.toBe('duplicate');
    const fresh = { orderId: uuidv7(), userId: 1, idempotencyKey: randomUUID() };

    const recorded = await orders().findRecorded([
      { orderId: sameId.id, userId: sameId.userId, idempotencyKey: sameId.idempotencyKey },
      { orderId: sameKey.id, userId: 1, idempotencyKey: key },
      fresh,
    ]);
    expect(recorded.get(sameId.id)).toMatchObject({ heldBy: 'id', view: { orderId: first.id } });
    expect(recorded.get(sameKey.id)).toMatchObject({
      heldBy: 'idempotency-key',
      view: { orderId: first.id, status: 'FAILED', items: [{ productId: 1, quantity: 1 }] },
    });
    expect(recorded.has(fresh.orderId)).toBe(false);
    expect(await orders().findView(sameKey.id)).toBeNull();
  });

  it('When another user uses the same idempotency key, then the order is inserted', async () => {
    const key = randomUUID();
    await expect(insert(orderRow(3, key))).resolves.toBe('inserted');
    await expect(insert(orderRow(4, key))).resolves.toBe('inserted');
  });

  it('When a row breaks a rule other than a unique key, then insert throws instead of answering', async () => {
    await expect(insert({ ...orderRow(5, randomUUID()), totalAmount: -1 })).rejects.toThrow(
      /constraint/i,
    );
  });
});

describe('Charges: duplicates are outcomes', () => {
  const charges = () => createChargesRepository(ctx.sequelize);
  const insert = (row: NewCharge) =>
    inTransaction(ctx.sequelize, (tx) => charges().insert(tx, row));

  it('When a charge id or a user and idempotency key is already recorded, then insert answers duplicate and findRecorded says which key holds it', async () => {
    const key = randomUUID();
    const first = chargeRow(10, key);
    await expect(insert(first)).resolves.toBe('inserted');
    await expect(insert({ ...chargeRow(11, randomUUID()), id: first.id })).resolves.toBe(
      'duplicate',
    );
    const sameKey = chargeRow(10, key);
    await expect(insert(sameKey)).resolves.toBe('duplicate');

    await expect(
      charges().findRecorded({ chargeId: first.id, userId: 11, idempotencyKey: randomUUID() }),
    ).resolves.toMatchObject({ heldBy: 'id', view: { chargeId: first.id, status: 'ON_HOLD' } });
    await expect(
      charges().findRecorded({ chargeId: sameKey.id, userId: 10, idempotencyKey: key }),
    ).resolves.toMatchObject({ heldBy: 'idempotency-key', view: { chargeId: first.id } });
    await expect(
      charges().findRecorded({ chargeId: uuidv7(), userId: 10, idempotencyKey: randomUUID() }),
    ).resolves.toBeNull();
  });
});

describe('Locked rows of an order transaction', () => {
  it('When products and users are locked for orders, then every existing row comes back, and none for ids without a row', async () => {
    await insertProducts(ctx.sequelize, [
      { id: 20, stock: 4, price: 250 },
      { id: 21, stock: 0, price: 0 },
    ]);
    await insertUser(ctx.sequelize, { id: 20, balance: 900 });
    const stock = createStockRepository(ctx.sequelize);
    const locked = await inTransaction(ctx.sequelize, (tx) =>
      stock.lockForOrders(tx, [20, 21, 22], [20, 21]),
    );
    expect(locked).toEqual({
      products: new Map([
        [20, { stock: 4, price: 250 }],
        [21, { stock: 0, price: 0 }],
      ]),
      balances: new Map([[20, 900]]),
    });
    await expect(
      inTransaction(ctx.sequelize, (tx) => stock.lockForOrders(tx, [], [20])),
    ).resolves.toEqual({ products: new Map(), balances: new Map([[20, 900]]) });
  });

  it('When a locked stock or balance is lower than a write assumes, then the guarded write answers false (for the caller to roll back), and true when every row covers it', async () => {
    await insertProducts(ctx.sequelize, [
      { id: 30, stock: 2 },
      { id: 31, stock: 5 },
    ]);
    await insertUser(ctx.sequelize, { id: 30, balance: 100 });
    await insertUser(ctx.sequelize, { id: 31, balance: 100 });
    const stock = createStockRepository(ctx.sequelize);
    const balances = createBalancesRepository(ctx.sequelize);
    const guarded = await inTransaction(ctx.sequelize, async (tx) => ({
      take: await stock.takeLocked(
        tx,
        new Map([
          [30, 3],
          [31, 1],
        ]),
      ),
      debit: await balances.debitLocked(
        tx,
        new Map([
          [30, 50],
          [31, 101],
        ]),
      ),
    }));
    expect(guarded).toEqual({ take: false, debit: false });
    const allowed = await inTransaction(ctx.sequelize, async (tx) => ({
      take: await stock.takeLocked(tx, new Map([[30, 2]])),
      debit: await balances.debitLocked(tx, new Map([[31, 100]])),
    }));
    expect(allowed).toEqual({ take: true, debit: true });
  });
});
