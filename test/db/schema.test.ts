import { randomUUID } from 'node:crypto';
import { QueryTypes, UniqueConstraintError } from 'sequelize';
import { migrate } from '../../shared/db/migrator';
import { CONSTRAINT, INDEX, TRIGGER } from '../../shared/db/schema-names';
import { ensureDatabase } from '../../shared/db/sequelize';
import { uuidv7 } from '../../shared/ids';
import { createTestContext, type TestContext } from '../harness/context';
import { testDatabaseUrl } from '../harness/env';
import { insertProducts, insertUser } from '../harness/builders';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx.destroy();
});

async function selectOne<T extends object>(sql: string, replacements: unknown[] = []): Promise<T> {
  const rows = await ctx.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT });
  const row = rows[0];
  if (row === undefined) throw new Error(`no row for ${sql}`);
  return row;
}

const productRow = (id: number) =>
  selectOne<{ stock: number; soldQuantity: number; stockReceived: number }>(
    `SELECT stock, sold_quantity AS soldQuantity, stock_received AS stockReceived
     FROM products WHERE id = ?`,
    [id],
  );

const insertOrderRow = (userId: number, key: string) =>
  ctx.sequelize.query(
    "INSERT INTO orders (id, user_id, status, idempotency_key) VALUES (?, ?, 'PENDING', ?)",
    { replacements: [uuidv7(), userId, key] },
  );

const insertChargeRow = (userId: number, key: string) =>
  ctx.sequelize.query(
    "INSERT INTO charges (id, user_id, amount, status, idempotency_key) VALUES (?, ?, 100, 'PENDING', ?)",
    { replacements: [uuidv7(), userId, key] },
  );

const insertLedgerRow = (sourceType: string, sourceId: string) =>
  ctx.sequelize.query(
    'INSERT INTO balance_ledger (user_id, source_type, source_id, delta, balance_after) VALUES (1, ?, ?, 100, 100)',
    { replacements: [sourceType, sourceId] },
  );

const databaseExists = async (name: string) =>
  (
    await ctx.sequelize.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', {
      replacements: [name],
      type: QueryTypes.SELECT,
    })
  ).length === 1;

describe('Money and stock constraints', () => {
  it('When an update would make a balance negative, then the database refuses it', async () => {
    await insertUser(ctx.sequelize, { id: 1, balance: 10 });
    await expect(ctx.sequelize.query('UPDATE users SET balance = -1 WHERE id = 1')).rejects.toThrow(
      /constraint/i,
    );
    await expect(
      ctx.sequelize.query('UPDATE users SET balance = balance - 11 WHERE id = 1'),
    ).rejects.toThrow(/constraint/i);
    expect(await selectOne<{ balance: number }>('SELECT balance FROM users WHERE id = 1')).toEqual({
      balance: 10,
    });
  });

  it('When a user row is inserted with a negative balance, then the database refuses it', async () => {
    await expect(insertUser(ctx.sequelize, { id: 2, balance: -5 })).rejects.toThrow(/constraint/i);
  });

  it('When a balance would pass 1,000,000,000,000, then the database refuses it', async () => {
    await insertUser(ctx.sequelize, { id: 3, balance: 1_000_000_000_000 });
    await expect(
      ctx.sequelize.query('UPDATE users SET balance = balance + 1 WHERE id = 3'),
    ).rejects.toThrow(/constraint/i);
  });

  it('When an update would make stock negative, then the database refuses it', async () => {
    await insertProducts(ctx.sequelize, [{ id: 10, stock: 3 }]);
    await expect(
      ctx.sequelize.query('UPDATE products SET stock = stock - 4 WHERE id = 10'),
    ).rejects.toThrow(/constraint/i);
    expect((await productRow(10)).stock).toBe(3);
  });

  it('When a product is inserted with negative stock, then the database refuses it', async () => {
    await expect(insertProducts(ctx.sequelize, [{ id: 11, stock: -1 }])).rejects.toThrow(
      /constraint/i,
    );
  });
});

describe('Products inserted and restocked in SQL', () => {
  it("When the contract's INSERT is used, then the other columns get their defaults", async () => {
    await ctx.sequelize.query(
      "INSERT INTO products (id, name, description, price, stock) VALUES (20, 'Cup', 'Tin', 3000, 12)",
    );
    const row = await selectOne<Record<string, unknown>>(
      `SELECT name, description, price, stock, sold_quantity AS soldQuantity,
              stock_received AS stockReceived, created_at AS createdAt, updated_at AS updatedAt
       FROM products WHERE id = 20`,
    );
    expect(row).toEqual({
      name: 'Cup',
      description: 'Tin',
      price: 3000,
      stock: 12,
      soldQuantity: 0,
      stockReceived: 12,
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    expect(Math.abs((row.createdAt as Date).getTime() - Date.now())).toBeLessThan(60_000);
  });

  it('When only a name and price are given, then the id, description and stock default too', async () => {
    await ctx.sequelize.query("INSERT INTO products (name, price) VALUES ('Bare', 500)");
    const row = await selectOne<{ id: number; description: string; stock: number }>(
      "SELECT id, description, stock FROM products WHERE name = 'Bare'",
    );
    expect(row).toEqual({ id: expect.any(Number), description: '', stock: 0 });
  });

  it('When stock is raised in SQL, then stock_received grows by the same amount', async () => {
    await insertProducts(ctx.sequelize, [{ id: 30, stock: 10 }]);
    await ctx.sequelize.query('UPDATE products SET stock = stock + 5 WHERE id = 30');
    expect(await productRow(30)).toEqual({ stock: 15, soldQuantity: 0, stockReceived: 15 });
  });

  it('When a worker sells stock (stock and sold_quantity together), then stock_received is unchanged', async () => {
    await insertProducts(ctx.sequelize, [{ id: 31, stock: 10 }]);
    await ctx.sequelize.query(
      'UPDATE products SET stock = stock - 2, sold_quantity = sold_quantity + 2 WHERE id = 31',
    );
    expect(await productRow(31)).toEqual({ stock: 8, soldQuantity: 2, stockReceived: 10 });
    await ctx.sequelize.query('UPDATE products SET stock = stock + 4 WHERE id = 31');
    expect(await productRow(31)).toEqual({ stock: 12, soldQuantity: 2, stockReceived: 14 });
  });

  it('When an unrelated column changes, then stock_received is unchanged', async () => {
    await insertProducts(ctx.sequelize, [{ id: 32, stock: 6 }]);
    await ctx.sequelize.query("UPDATE products SET price = 999, name = 'Renamed' WHERE id = 32");
    expect((await productRow(32)).stockReceived).toBe(6);
  });
});

describe('Uniqueness', () => {
  it('When a user reuses an idempotency key for orders, then the second row is refused', async () => {
    await insertOrderRow(100, 'order-key');
    await expect(insertOrderRow(100, 'order-key')).rejects.toBeInstanceOf(UniqueConstraintError);
    await expect(insertOrderRow(101, 'order-key')).resolves.toBeDefined();
  });

  it('When a user reuses an idempotency key for charges, then the second row is refused', async () => {
    await insertChargeRow(100, 'charge-key');
    await expect(insertChargeRow(100, 'charge-key')).rejects.toBeInstanceOf(UniqueConstraintError);
    await expect(insertChargeRow(101, 'charge-key')).resolves.toBeDefined();
  });

  it('When a charge or order is entered in the ledger twice, then the second entry is refused', async () => {
    const id = uuidv7();
    await insertLedgerRow('charge', id);
    await expect(insertLedgerRow('charge', id)).rejects.toBeInstanceOf(UniqueConstraintError);
    await expect(insertLedgerRow('order', id)).resolves.toBeDefined();
  });

  it('When an idempotency key is 255 visible ASCII characters, then it is stored intact', async () => {
    const key = `${randomUUID()}-${'~!'.repeat(200)}`.slice(0, 255);
    await insertOrderRow(102, key);
    const row = await selectOne<{ key: string }>(
      'SELECT idempotency_key AS `key` FROM orders WHERE user_id = 102',
    );
    expect(row.key).toBe(key);
  });
});

describe('Migrations', () => {
  it('When migrate() runs on a migrated database, then it applies nothing and changes nothing', async () => {
    const before = await selectOne<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migrations');
    expect(before.n).toBeGreaterThan(0);
    await expect(migrate(ctx.sequelize, ctx.config.database.url)).resolves.toEqual([]);
    await expect(migrate(ctx.sequelize, ctx.config.database.url)).resolves.toEqual([]);
    expect(await selectOne('SELECT COUNT(*) AS n FROM schema_migrations')).toEqual(before);
  });

  it('When ensureDatabase names a missing database, then it creates it (and again is a no-op)', async () => {
    const name = `shop_test_${ctx.id}_ensure`;
    const url = testDatabaseUrl(name);
    try {
      expect(await databaseExists(name)).toBe(false);
      await ensureDatabase(url);
      expect(await databaseExists(name)).toBe(true);
      await ctx.sequelize.query(`CREATE TABLE \`${name}\`.marker (id INT)`);
      await ensureDatabase(url);
      const tables = await ctx.sequelize.query(
        'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        { replacements: [name, 'marker'], type: QueryTypes.SELECT },
      );
      expect(tables).toHaveLength(1);
    } finally {
      await ctx.sequelize.query(`DROP DATABASE IF EXISTS \`${name}\``);
    }
  });
});

describe('Names shared by the migrations and the code', () => {
  const names = async (sql: string) =>
    (await ctx.sequelize.query<{ name: string }>(sql, { type: QueryTypes.SELECT }))
      .map((row) => row.name)
      .sort();
  const sorted = (named: Record<string, string>) => Object.values(named).sort();

  it('When the migrations have run, then every key, constraint and trigger of shared/db/schema-names.ts exists under its name, and there is no other', async () => {
    expect(
      await names(
        `SELECT DISTINCT INDEX_NAME AS name FROM information_schema.STATISTICS
         WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY'
           AND TABLE_NAME <> 'schema_migrations'`,
      ),
    ).toEqual(sorted(INDEX));
    expect(
      await names(
        // MariaDB adds a CHECK (json_valid(...)) of its own to a JSON column, named after it.
        `SELECT CONSTRAINT_NAME AS name FROM information_schema.TABLE_CONSTRAINTS tc
         WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_TYPE IN ('CHECK', 'FOREIGN KEY')
           AND NOT EXISTS (SELECT 1 FROM information_schema.COLUMNS c
             WHERE c.TABLE_SCHEMA = tc.TABLE_SCHEMA AND c.TABLE_NAME = tc.TABLE_NAME
               AND c.COLUMN_NAME = tc.CONSTRAINT_NAME)`,
      ),
    ).toEqual(sorted(CONSTRAINT));
    expect(
      await names(
        `SELECT TRIGGER_NAME AS name FROM information_schema.TRIGGERS
         WHERE TRIGGER_SCHEMA = DATABASE()`,
      ),
    ).toEqual(sorted(TRIGGER));
  });
});
