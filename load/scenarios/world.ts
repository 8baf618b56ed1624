import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { signUserToken } from '../../shared/tokens';

/** A funded user and the token its requests carry. */
export interface Buyer {
  userId: number;
  authorization: string;
}

/** Rows per status of the orders and charges of this run's users (`PAID` → n). */
export interface FinalCounts {
  orders: Record<string, number>;
  charges: Record<string, number>;
}

/** One order of this run as the database holds it (epoch ms). */
export interface OrderTiming {
  status: string;
  acceptedAt: number;
  finalAt: number;
}

/** What a run of flash-sale left for the hot product. */
export interface HotProductOutcome {
  stock: number;
  /** `PAID` / `FAILED INSUFFICIENT_STOCK` … → orders naming the product. */
  orders: Record<string, number>;
}

const BATCH = 1_000;
/** The funding charge's key: one per user, so the unique (user, key) holds. */
const FUNDING_KEY = 'load-funding';
/** The contract's largest charge. */
const MAX_CHARGE = 10_000_000;
const DESCRIPTION =
  'Load-test product. A description of ordinary length, so the detail view is as large as a ' +
  'real one: materials, dimensions, care instructions and a few words about delivery times.';

const statusOf = (row: mysql.RowDataPacket) =>
  row.code === null || row.code === undefined
    ? String(row.status)
    : `${String(row.status)} ${String(row.code)}`;

/**
 * The data a run works with, written straight into the database with SQL the way an operator
 * would (products through the contract's `INSERT INTO products`; users funded with a COMPLETED
 * charge and its ledger row, so every invariant holds before the first request), and the
 * queries that read the outcome. Everything it counts is limited to this run's users, so it
 * also works against a shared database (`--url`).
 */
export class LoadWorld {
  readonly productIds: number[] = [];
  readonly buyers: Buyer[] = [];

  private constructor(
    private readonly pool: mysql.Pool,
    /** True when the database holds nothing but this run: counts need no filter then. */
    private readonly ownDatabase: boolean,
  ) {}

  static open(databaseUrl: string, ownDatabase: boolean): LoadWorld {
    const pool = mysql.createPool({
      uri: databaseUrl,
      connectionLimit: 4,
      // DATETIME columns hold UTC (the system writes them with timezone +00:00).
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: false,
    });
    return new LoadWorld(pool, ownDatabase);
  }

  get firstUserId(): number {
    return this.buyers[0]?.userId ?? 0;
  }

  get lastUserId(): number {
    return this.buyers.at(-1)?.userId ?? 0;
  }

  /** Adds `count` products with ample stock; returns their ids (also kept in productIds). */
  async addProducts(count: number, stock = 10_000_000): Promise<number[]> {
    const first = (await this.maxId('SELECT COALESCE(MAX(id), 0) AS id FROM products')) + 1;
    const rows = Array.from({ length: count }, (_, i) => {
      const id = first + i;
      // 1,000 .. 20,000 KRW: a hundred orders stay well within one funding charge.
      return [id, `Load product ${id}`, DESCRIPTION, 1_000 + ((id * 7_919) % 191) * 100, stock];
    });
    for (let i = 0; i < rows.length; i += BATCH) {
      await this.pool.query('INSERT INTO products (id, name, description, price, stock) VALUES ?', [
        rows.slice(i, i + BATCH),
      ]);
    }
    const ids = rows.map((row) => Number(row[0]));
    this.productIds.push(...ids);
    return ids;
  }

  /**
   * Creates `count` users with a balance of `amount` (as COMPLETED charges of at most the
   * contract's 10,000,000 each, with their ledger rows) and signs a token for each.
   */
  async addBuyers(count: number, amount: number, jwtSecret: string): Promise<Buyer[]> {
    const first =
      (await this.maxId(
        `SELECT GREATEST(
           (SELECT COALESCE(MAX(id), 0) FROM users),
           (SELECT COALESCE(MAX(user_id), 0) FROM orders),
           (SELECT COALESCE(MAX(user_id), 0) FROM charges)) AS id`,
      )) + 1;
    const charges = Math.max(1, Math.ceil(amount / MAX_CHARGE));
    for (let start = 0; start < count; start += BATCH) {
      const ids = Array.from(
        { length: Math.min(BATCH, count - start) },
        (_, i) => first + start + i,
      );
      const chargeRows: unknown[][] = [];
      const ledgerRows: unknown[][] = [];
      for (const id of ids) {
        let balance = 0;
        for (let c = 0; c < charges; c++) {
          const part = Math.min(MAX_CHARGE, amount - balance);
          balance += part;
          const chargeId = randomUUID();
          const key = c === 0 ? FUNDING_KEY : `${FUNDING_KEY}-${c}`;
          chargeRows.push([chargeId, id, part, 'COMPLETED', balance, key, new Date()]);
          ledgerRows.push([id, 'charge', chargeId, part, balance]);
        }
      }
      const connection = await this.pool.getConnection();
      try {
        await connection.beginTransaction();
        await connection.query('INSERT INTO users (id, balance) VALUES ?', [
          ids.map((id) => [id, amount]),
        ]);
        await connection.query(
          `INSERT INTO charges (id, user_id, amount, status, balance_after, idempotency_key,
             completed_at) VALUES ?`,
          [chargeRows],
        );
        await connection.query(
          'INSERT INTO balance_ledger (user_id, source_type, source_id, delta, balance_after) VALUES ?',
          [ledgerRows],
        );
        await connection.commit();
      } catch (error) {
        await connection.rollback();
        throw error;
      } finally {
        connection.release();
      }
      for (const id of ids) {
        const token = await signUserToken(jwtSecret, id, '12h');
        this.buyers.push({ userId: id, authorization: `Bearer ${token}` });
      }
    }
    return this.buyers.slice(-count);
  }

  /** Orders and charges of this run's users by status (funding charges excluded). */
  async finalCounts(): Promise<FinalCounts> {
    const users = this.ownDatabase ? '' : 'WHERE user_id BETWEEN ? AND ?';
    const range = this.ownDatabase ? [] : [this.firstUserId, this.lastUserId];
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>(
      `SELECT 'order' AS kind, status, COUNT(*) AS n FROM orders ${users} GROUP BY status
       UNION ALL
       SELECT 'charge', status, COUNT(*) FROM charges ${users || 'WHERE 1'}
         AND idempotency_key NOT LIKE '${FUNDING_KEY}%' GROUP BY status`,
      [...range, ...range],
    );
    const counts: FinalCounts = { orders: {}, charges: {} };
    for (const row of rows) {
      const target = row.kind === 'order' ? counts.orders : counts.charges;
      target[String(row.status)] = Number(row.n);
    }
    return counts;
  }

  /** When each order of this run was accepted and became final (PAID/FAILED). */
  async orderTimings(): Promise<OrderTiming[]> {
    const users = this.ownDatabase ? '' : 'AND user_id BETWEEN ? AND ?';
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>(
      `SELECT status, created_at AS acceptedAt, updated_at AS finalAt FROM orders
        WHERE status IN ('PAID', 'FAILED') ${users}`,
      this.ownDatabase ? [] : [this.firstUserId, this.lastUserId],
    );
    return rows.map((row) => ({
      status: String(row.status),
      acceptedAt: (row.acceptedAt as Date).getTime(),
      finalAt: (row.finalAt as Date).getTime(),
    }));
  }

  /** The hot product's stock and the orders that named it, by status and failure code. */
  async hotProduct(productId: number): Promise<HotProductOutcome> {
    const [stock] = await this.pool.query<mysql.RowDataPacket[]>(
      'SELECT stock FROM products WHERE id = ?',
      [productId],
    );
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>(
      `SELECT o.status, o.failure_code AS code, COUNT(*) AS n
         FROM order_items oi JOIN orders o ON o.id = oi.order_id
        WHERE oi.product_id = ? GROUP BY o.status, o.failure_code`,
      [productId],
    );
    return {
      stock: Number(stock[0]?.stock ?? Number.NaN),
      orders: Object.fromEntries(rows.map((row) => [statusOf(row), Number(row.n)])),
    };
  }

  /** The database server's version and the settings that most change write throughput. */
  async serverInfo(): Promise<Record<string, string>> {
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>(
      `SELECT VERSION() AS version,
              @@innodb_flush_log_at_trx_commit AS innodb_flush_log_at_trx_commit,
              @@innodb_buffer_pool_size AS innodb_buffer_pool_size,
              @@log_bin AS log_bin, @@sync_binlog AS sync_binlog,
              @@max_connections AS max_connections`,
    );
    const row = rows[0] ?? {};
    return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, String(v)]));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async maxId(sql: string): Promise<number> {
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>(sql);
    return Number(rows[0]?.id ?? 0);
  }
}
