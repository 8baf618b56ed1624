import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { uuidv7 } from '../../shared/ids';
import { ORDERS_QUEUE, type OrderJob } from '../../shared/queues/orders';
import type { MigratedDatabase } from '../../test/harness/database';

export const PRICE = 100;

/**
 * The bench's own MariaDB: its buffer pool holds the hundreds of thousands of orders a bench
 * queues (the tests' 64 MiB does not, and then MariaDB's CPU per order measures page reads and
 * evictions, growing with how many orders the earlier runs left; load/REPORT.md).
 */
export const BENCH_MARIADB = { serverId: 1, bufferPoolMiB: 1_024 } as const;

/** Products 1..n with plenty of stock, and product n + 1: the hot one. */
export async function seedProducts(db: MigratedDatabase, n: number): Promise<void> {
  await db.insertProducts(
    [
      ...Array.from({ length: n }, (_, i) => ({ id: i + 1, price: PRICE, stock: 1_000_000 })),
      { id: n + 1, price: PRICE, stock: 1_000_000 },
    ],
    'Bench product',
  );
}

/** Users 1..n, each with a completed charge of 10,000,000 and its ledger row (invariants hold). */
export async function fundUsers(url: string, n: number): Promise<void> {
  const connection = await mysql.createConnection({ uri: url });
  try {
    const amount = 10_000_000;
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    await connection.query('INSERT INTO users (id, balance) VALUES ?', [
      ids.map((id) => [id, amount]),
    ]);
    const charges = ids.map((id) => [
      uuidv7(),
      id,
      amount,
      'COMPLETED',
      amount,
      `bench-fund-${id}`,
    ]);
    await connection.query(
      'INSERT INTO charges (id, user_id, amount, status, balance_after, idempotency_key) VALUES ?',
      [charges],
    );
    await connection.query(
      'INSERT INTO balance_ledger (user_id, source_type, source_id, delta, balance_after) VALUES ?',
      [charges.map(([chargeId, userId]) => [userId, 'charge', chargeId, amount, amount])],
    );
  } finally {
    await connection.end();
  }
}

async function drained(queue: Queue): Promise<boolean> {
  const c = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
  return (c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) === 0;
}

/**
 * With `orders` > 0: queues that many orders while the queue is paused, resumes it and times
 * the workers until every one is final; returns orders finalised per second. With 0: waits
 * until the queue is empty.
 */
export async function timeToFinalise(
  _db: MigratedDatabase,
  redis: Redis,
  prefix: string,
  orders: number,
  timeoutMs: number,
  productFor: (i: number) => number = () => 1,
  users = 1,
): Promise<number> {
  const queue = new Queue<OrderJob>(ORDERS_QUEUE, { connection: redis, prefix });
  try {
    const deadline = Date.now() + timeoutMs;
    if (orders > 0) {
      await queue.pause();
      const acceptedAt = new Date().toISOString();
      const jobs = Array.from({ length: orders }, (_, i) => {
        const orderId = uuidv7();
        return {
          name: 'order',
          data: {
            orderId,
            userId: 1 + (i % users),
            items: [{ productId: productFor(i), quantity: 1 }],
            idempotencyKey: `bench-drain-${orderId}`,
            acceptedAt,
          },
          opts: { jobId: orderId, removeOnComplete: { age: 3_600, count: 100_000 } },
        };
      });
      for (let i = 0; i < jobs.length; i += 1_000) await queue.addBulk(jobs.slice(i, i + 1_000));
    }
    const started = performance.now();
    await queue.resume();
    while (!(await drained(queue))) {
      if (Date.now() > deadline) throw new Error('the workers did not finish in time');
      await sleep(50);
    }
    return orders / ((performance.now() - started) / 1_000);
  } finally {
    await queue.close();
  }
}
