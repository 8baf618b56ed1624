import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Sequelize } from 'sequelize';
import { createSequelize } from '../../shared/db/sequelize';
import { sqlDateTime } from '../../shared/db/sql';
import { MigratedDatabase } from '../../test/harness/database';
import { DedicatedMariaDb } from '../../test/harness/mariadb';
import { resultsDir } from '../../test/harness/paths';
import { BENCH_MARIADB } from './setup';

/**
 * A shop's history written straight in SQL, fast (MariaDB's `seq_<from>_to_<to>` tables), for
 * the benches of work that reads all of it: users funded by one COMPLETED charge each, `PAID`
 * orders of one to three units of one product, each with its ledger debit and its delivered
 * `order.paid` event, each call's orders paid evenly over the last 71.7 h in the order of their
 * numbers. After {@link settleHistory} every
 * invariant of `ops reconcile` holds.
 */
export const HISTORY_PRODUCTS = 100;
export const HISTORY_USERS = 1_000;
const FUNDS = 10_000_000;
const SPREAD_S = 258_000;
const CHUNK = 100_000;

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Products, and users with one COMPLETED charge of 10,000,000 each and its ledger row. */
export async function seedHistory(db: MigratedDatabase): Promise<void> {
  await db.pool.query(
    `INSERT INTO products (id, name, description, price, stock)
     SELECT seq, CONCAT('Bench product ', seq), '', 100, 10000000 FROM seq_1_to_${String(HISTORY_PRODUCTS)}`,
  );
  await db.pool.query(
    `INSERT INTO users (id, balance) SELECT seq, ${String(FUNDS)} FROM seq_1_to_${String(HISTORY_USERS)}`,
  );
  await db.pool.query(
    `INSERT INTO charges (id, user_id, amount, status, balance_after, idempotency_key, completed_at)
     SELECT CONCAT('bench-charge-', seq), seq, ${String(FUNDS)}, 'COMPLETED', ${String(FUNDS)},
            CONCAT('fund-', seq), UTC_TIMESTAMP(3)
     FROM seq_1_to_${String(HISTORY_USERS)}`,
  );
  await db.pool.query(
    `INSERT INTO balance_ledger (user_id, source_type, source_id, delta, balance_after)
     SELECT seq, 'charge', CONCAT('bench-charge-', seq), ${String(FUNDS)}, ${String(FUNDS)}
     FROM seq_1_to_${String(HISTORY_USERS)}`,
  );
}

/**
 * A UUID version 7 in SQL, as `shared/ids.ts` makes them (lower-case hex, time first): of the
 * millisecond `ms` and, for the random part, `seq` under a `tag` of 4 hex digits.
 */
const uuidv7Sql = (ms: string, tag: string) => {
  const hex = `LPAD(LOWER(HEX(${ms})), 12, '0')`;
  return `CONCAT(SUBSTR(${hex}, 1, 8), '-', SUBSTR(${hex}, 9, 4), '-7000-${tag}-', LPAD(LOWER(HEX(seq)), 12, '0'))`;
};

/**
 * `PAID` orders `from`..`to` with their items, ledger debits and events, in chunks. Orders and
 * events get UUIDs version 7 of the moment they were paid, as the workers' rows do, so work that
 * reads the rows of a recent stretch by primary key finds this history's recent rows there.
 */
export async function insertPaidOrders(
  db: MigratedDatabase,
  from: number,
  to: number,
): Promise<void> {
  // Paid evenly over the last SPREAD_S, in the order of `seq` (so ledger ids grow with time).
  const nowMs = Date.now();
  const ageMs = `((${String(to)} - seq) * ${String(SPREAD_S * 1000)} DIV ${String(to - from + 1)})`;
  const paidMs = `(${String(nowMs)} - ${ageMs})`;
  const paidAt = `CAST('${sqlDateTime(new Date(nowMs))}' AS DATETIME(3)) - INTERVAL ${ageMs} * 1000 MICROSECOND`;
  const id = uuidv7Sql(paidMs, '8000');
  for (let start = from; start <= to; start += CHUNK) {
    const end = Math.min(to, start + CHUNK - 1);
    const seq = `seq_${String(start)}_to_${String(end)}`;
    const total = '100 * (1 + seq MOD 3)';
    await db.pool.query(
      `INSERT INTO orders (id, user_id, status, total_amount, idempotency_key, created_at, paid_at, updated_at)
       SELECT ${id}, 1 + seq MOD ${String(HISTORY_USERS)}, 'PAID', ${total}, CONCAT('order-', seq), t, t, t
       FROM (SELECT seq, ${paidAt} AS t FROM ${seq}) s`,
    );
    await db.pool.query(
      `INSERT INTO order_items (order_id, product_id, quantity, unit_price)
       SELECT ${id}, 1 + (seq * 7 + seq DIV 13) MOD ${String(HISTORY_PRODUCTS)}, 1 + seq MOD 3, 100
       FROM ${seq}`,
    );
    await db.pool.query(
      `INSERT INTO balance_ledger (user_id, source_type, source_id, delta, balance_after, created_at)
       SELECT 1 + seq MOD ${String(HISTORY_USERS)}, 'order', ${id}, -(${total}), 0, ${paidAt} FROM ${seq}`,
    );
    await db.pool.query(
      `INSERT INTO order_events (id, order_id, type, payload, status, occurred_at, delivered_at)
       SELECT ${uuidv7Sql(paidMs, '9000')}, ${id}, 'order.paid', '{}', 'DELIVERED', t, t
       FROM (SELECT seq, ${paidAt} AS t FROM ${seq}) s`,
    );
    log(`  orders: ${String(end)} of ${String(to)}`);
  }
}

/**
 * Balances, each ledger row's balance after it, and stock counters as the orders left them (the
 * orders' own columns are final).
 */
export async function settleHistory(db: MigratedDatabase): Promise<void> {
  await db.pool.query(
    `UPDATE balance_ledger l
     JOIN (SELECT id, SUM(delta) OVER (PARTITION BY user_id ORDER BY id) AS after
           FROM balance_ledger) r ON r.id = l.id
     SET l.balance_after = r.after`,
  );
  await db.pool.query(
    `UPDATE users u
     JOIN (SELECT user_id, SUM(total_amount) AS spent FROM orders WHERE status = 'PAID'
           GROUP BY user_id) o ON o.user_id = u.id
     SET u.balance = ${String(FUNDS)} - o.spent`,
  );
  // Stock (10,000,000 at the start) down and sold_quantity up together: stock_received (the
  // triggers) does not move.
  await db.pool.query(
    `UPDATE products p
     JOIN (SELECT oi.product_id, SUM(oi.quantity) AS sold
           FROM order_items oi JOIN orders o ON o.id = oi.order_id WHERE o.status = 'PAID'
           GROUP BY oi.product_id) s ON s.product_id = p.id
     SET p.stock = 10000000 - s.sold, p.sold_quantity = s.sold`,
  );
}

/** What a history bench's body gets: the world it measures, made and closed for it. */
export interface HistoryBench {
  db: MigratedDatabase;
  sequelize: Sequelize;
  /** The MariaDB server's process, whose CPU the bench reads. */
  pid: number;
  /** Ascending counts of `PAID` orders to measure at (`--orders`). */
  sizes: number[];
  rounds: number;
  /** `load/results/<time>-<name>/`, created. */
  dir: string;
}

/**
 * The frame of a bench of whole-history work: parses `--orders` and `--rounds`, starts a
 * MariaDB of its own with the bench's buffer pool, migrates a database and seeds the history's
 * users and products, runs `body`, closes everything, and sets the exit code (1 on an error).
 */
export function runHistoryBench(name: string, body: (bench: HistoryBench) => Promise<number>) {
  const run = async (): Promise<number> => {
    const { values } = parseArgs({
      options: {
        orders: { type: 'string', default: '100000,300000,900000' },
        rounds: { type: 'string', default: '3' },
      },
    });
    const sizes = values.orders
      .split(',')
      .map(Number)
      .sort((a, b) => a - b);
    const rounds = Number(values.rounds);
    if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !(rounds >= 1)) {
      log('usage: --orders <n>[,<n>…] (ascending counts of PAID orders) --rounds <n>');
      return 2;
    }
    const dir = resultsDir(new Date(), name);
    mkdirSync(dir, { recursive: true });
    const server = await DedicatedMariaDb.start(BENCH_MARIADB);
    let db: MigratedDatabase | undefined;
    let sequelize: Sequelize | undefined;
    try {
      const pid = server.pid;
      if (pid === undefined) throw new Error('MariaDB did not start');
      db = await MigratedDatabase.create(server.url(), `shop_bench_${name.replace(/-/g, '_')}`);
      sequelize = createSequelize(db.url, { poolMax: 2 });
      await seedHistory(db);
      return await body({ db, sequelize, pid, sizes, rounds, dir });
    } finally {
      await sequelize?.close();
      await db?.close(false);
      await server.destroy();
    }
  };
  run().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      log(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = 1;
    },
  );
}
