import type mysql from 'mysql2/promise';
import type { MigratedDatabase, ReconcileResult } from '../harness/database';

/** A row of `orders` as the verification reads it. */
export interface OrderRow {
  id: string;
  status: string;
  totalAmount: number | null;
}

/**
 * What the verdict reads from a scenario's database, straight from MariaDB (never through the
 * fault proxy), and its reconcile.
 */
export class ChaosRows {
  private readonly pool: mysql.Pool;

  constructor(private readonly database: MigratedDatabase) {
    this.pool = database.pool;
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

  /** The outcomes of the cancellations recorded for each of the given orders (in id order). */
  async cancellationOutcomes(orderIds: string[]): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>();
    if (orderIds.length === 0) return found;
    const [rows] = await this.pool.query<mysql.RowDataPacket[]>(
      'SELECT order_id AS orderId, outcome FROM order_cancellations WHERE order_id IN (?) ORDER BY id',
      [orderIds],
    );
    for (const r of rows) {
      const id = String(r.orderId);
      found.set(id, [...(found.get(id) ?? []), String(r.outcome)]);
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

  reconcile(): Promise<ReconcileResult> {
    return this.database.reconcile();
  }
}
