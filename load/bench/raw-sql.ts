import mysql from 'mysql2/promise';

export interface RawSqlResult {
  orders: number;
  seconds: number;
  perSecond: number;
}

/**
 * The hand-written baseline for applying orders: the straightforward transaction (lock the
 * product, check stock and balance, update both, insert the order and its item), on
 * `connections` connections in parallel, `orders` times in all. `productFor(i)` picks the
 * product: many different ones, or one hot product.
 */
export async function rawSqlLoop(
  url: string,
  orders: number,
  connections: number,
  productFor: (i: number) => number,
  userFor: (i: number) => number,
  label: string,
): Promise<RawSqlResult> {
  const pool = mysql.createPool({ uri: url, connectionLimit: connections });
  let next = 0;
  const started = performance.now();
  const loop = async () => {
    const connection = await pool.getConnection();
    try {
      for (let i = next++; i < orders; i = next++) {
        const productId = productFor(i);
        const userId = userFor(i);
        await connection.beginTransaction();
        const [products] = await connection.query<mysql.RowDataPacket[]>(
          'SELECT price, stock FROM products WHERE id = ? FOR UPDATE',
          [productId],
        );
        const price = Number(products[0]?.price);
        const [users] = await connection.query<mysql.RowDataPacket[]>(
          'SELECT balance FROM users WHERE id = ? FOR UPDATE',
          [userId],
        );
        if (Number(products[0]?.stock) < 1 || Number(users[0]?.balance) < price) {
          await connection.rollback();
          continue;
        }
        await connection.query(
          'UPDATE products SET stock = stock - 1, sold_quantity = sold_quantity + 1 WHERE id = ?',
          [productId],
        );
        await connection.query('UPDATE users SET balance = balance - ? WHERE id = ?', [
          price,
          userId,
        ]);
        const id = `raw-${label}-${i}`.slice(0, 36);
        await connection.query(
          "INSERT INTO orders (id, user_id, status, total_amount, idempotency_key, paid_at) VALUES (?, ?, 'PAID', ?, ?, NOW(3))",
          [id, userId, price, id],
        );
        await connection.query(
          'INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (?, ?, 1, ?)',
          [id, productId, price],
        );
        await connection.commit();
      }
    } finally {
      connection.release();
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const seconds = (performance.now() - started) / 1_000;
  await pool.end();
  return { orders, seconds, perSecond: orders / seconds };
}
