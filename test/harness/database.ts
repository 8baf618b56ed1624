import mysql from 'mysql2/promise';
import { runToCompletion } from './process';

/** A product row as `INSERT INTO products` (the contract's way to add one) writes it. */
export interface ProductRow {
  id: number;
  price: number;
  stock: number;
}

/**
 * A database of a run's own, created and migrated with the real CLI, reached directly (never
 * through a fault proxy): it is how a run sets up and checks the world, so it must work while
 * the system's link is cut. Whoever creates it closes it.
 */
export class MigratedDatabase {
  private constructor(
    readonly url: string,
    readonly name: string,
    /** A few direct connections, for setting up and checking the world. */
    readonly pool: mysql.Pool,
  ) {}

  /** Creates `name` on the server of `serverUrl` and migrates it with `dist/cli/migrate.js`. */
  static async create(serverUrl: string, name: string): Promise<MigratedDatabase> {
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
    return new MigratedDatabase(url.toString(), name, pool);
  }

  /** Inserts products named `<label> <id>`, with an empty description. */
  async insertProducts(products: ProductRow[], label: string): Promise<void> {
    await this.pool.query('INSERT INTO products (id, name, description, price, stock) VALUES ?', [
      products.map((p) => [p.id, `${label} ${p.id}`, '', p.price, p.stock]),
    ]);
  }

  /** `npm run ops -- reconcile` against this database: exit 0 means every invariant holds. */
  reconcile(timeoutMs = 120_000): Promise<ReconcileResult> {
    return reconcileDatabase(this.url, timeoutMs);
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

/** What `ops reconcile` said: `ok` when it exited 0 (every invariant holds). */
export interface ReconcileResult {
  ok: boolean;
  output: string;
}

/** `npm run ops -- reconcile` (built) against any database, this run's own or not. */
export async function reconcileDatabase(
  databaseUrl: string,
  timeoutMs: number,
): Promise<ReconcileResult> {
  const result = await runToCompletion(
    'cli/ops.js',
    ['reconcile'],
    { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
    timeoutMs,
  );
  return { ok: result.code === 0, output: result.output.trim() };
}
