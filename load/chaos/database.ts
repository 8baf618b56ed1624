import mysql from 'mysql2/promise';
import { runToCompletion } from './processes';

export interface ChaosProduct {
  id: number;
  price: number;
  stock: number;
}

/** A row of `orders` as the verification reads it. */
export interface OrderRow {
  id: string;
  status: string;
  totalAmount: number | null;
}

/**
 * The scenario's own database, reached directly (never through the fault proxy): it is how
 * the scenario sets up and checks the world, so it must work while the system's link is cut.
 */
export class ChaosDatabase {
  private constructor(
    readonly url: string,
    readonly name: string,
    private readonly pool: mysql.Pool,
  ) {}

  /** Creates `name` on the server of `serverUrl` and migrates it with the real CLI. */
  static async create(serverUrl: string, name: string): Promise<ChaosDatabase> {
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const migrated = await runToCompletion(
      'cli/migrate.js',
      [],
      { DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' },
      60_000,
    );
    if (migrated.code !== 0) throw new Error(`migrate failed:\n${migrated.output}`);
    const pool = mysql.createPool({
      uri: url.toString(),
      connectionLimit: 4,
      // DATETIME columns hold UTC (the system writes with timezone +00:00).
      timezone: 'Z',
      supportBigNumbers: true,
      bigNumberStrings: false,
    });
    return new ChaosDatabase(url.toString(), name, pool);
  }

  async insertProducts(products: ChaosProduct[]): Promise<void> {
    await this.pool.query('INSERT INTO products (id, name, description, price, stock) VALUES ?', [
      products.map((p) => [p.id, `Chaos product ${p.id}`, '', p.price, p.stock]),
    ]);
  }

  async balances(): Promise<Map<number, number>> {
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>('SELECT id, balance FROM users');
    return new Map(rows.map((r) => [Number(r.id), Number(r.balance)]));
  }

  /** The rows of the given order ids (ids without a row are simply absent). */
  async orders(ids: string[]): Promise<Map<string, OrderRow>> {
    const found = new Map<string, OrderRow>();
    for (let i = 0; i < ids.length; i += 1_000) {
      const [rows] = await this.pool.query<mysql.RowDataPacket[]>(
        'SELECT id, status, total_amount AS totalAmount FROM orders WHERE id IN (?)',
        [ids.slice(i, i + 1_000)],
      );
      for (const r of rows) {
        const totalAmount = r.totalAmount === null ? null : Number(r.totalAmount);
        found.set(String(r.id), { id: String(r.id), status: String(r.status), totalAmount });
      }
    }
    return found;
  }

  /** Rows per status, orders and charges together (`order:PAID` → n). */
  async statusCounts(): Promise<Record<string, number>> {
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>(
      `SELECT 'order' AS kind, status, COUNT(*) AS n FROM orders GROUP BY status
       UNION ALL SELECT 'charge', status, COUNT(*) FROM charges GROUP BY status`,
    );
    return Object.fromEntries(
      rows.map((r) => [`${String(r.kind)}:${String(r.status)}`, Number(r.n)]),
    );
  }

  /** Epoch ms of the first order paid since `sinceMs`, and of the first accepted since. */
  async firstPaidSince(sinceMs: number): Promise<{ any: number | null; accepted: number | null }> {
    const since = new Date(sinceMs);
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>(
      `SELECT (SELECT MIN(paid_at) FROM orders WHERE paid_at >= ?) AS anyPaid,
              (SELECT MIN(paid_at) FROM orders WHERE paid_at IS NOT NULL AND created_at >= ?) AS newPaid`,
      [since, since],
    );
    const time = (value: unknown) => (value instanceof Date ? value.getTime() : null);
    return { any: time(rows[0]?.anyPaid), accepted: time(rows[0]?.newPaid) };
  }

  /** Orders paid in `[fromMs, toMs)`. */
  async paidBetween(fromMs: number, toMs: number): Promise<number> {
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM orders WHERE paid_at >= ? AND paid_at < ?',
      [new Date(fromMs), new Date(toMs)],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** `npm run ops -- reconcile` against this database: exit 0 means every invariant holds. */
  async reconcile(): Promise<{ ok: boolean; output: string }> {
    const result = await runToCompletion(
      'cli/ops.js',
      ['reconcile'],
      { DATABASE_URL: this.url, LOG_LEVEL: 'warn' },
      120_000,
    );
    return { ok: result.code === 0, output: result.output.trim() };
  }

  /** Drops the database unless `keep`; always releases the pool. */
  async close(keep: boolean): Promise<void> {
    try {
      if (!keep) await this.pool.query(`DROP DATABASE IF EXISTS \`${this.name}\``);
    } finally {
      await this.pool.end();
    }
  }
}
