import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { QueryTypes, type Sequelize } from 'sequelize';
import {
  SALES_KEPT_HOURS,
  TOP_LIMIT,
  TOP_PERIOD_MS,
  TOP_WINDOW_HOURS,
} from '../../shared/catalog/top-sellers';
import { createProductsRepository } from '../../shared/db/repositories/products';
import { createStockRepository } from '../../shared/db/repositories/stock';
import { sqlDateTime } from '../../shared/db/sql';
import { inTransaction } from '../../shared/db/transaction';
import { lineChart } from '../report/render';
import { median, serverCpuOf } from './cpu';
import { HISTORY_PRODUCTS, insertPaidOrders, runHistoryBench } from './history';

/**
 * `npm run bench:top-sellers [-- --orders 100000,300000,900000] [--rounds 3]`
 *
 * What one refresh of the top-sellers ranking costs MariaDB as PAID orders fill the 72 h
 * window: the ranking from the hourly sales sums (`ProductsRepository.topSellers`) beside the
 * aggregate over every PAID order item of the window it replaced (the baseline, kept here),
 * alternated, on a MariaDB of its own, its CPU read from /proc. Both must rank alike, or the
 * run fails. Then what the sums cost the order transaction: MariaDB's CPU per batch of 50
 * orders' stock taken, with and without the sums' statement.
 */

const PRODUCTS = HISTORY_PRODUCTS;
const WRITE_TRANSACTIONS = 1_000;
const BATCH_ORDERS = 50;

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The ranking as computed before the sums: every PAID order item of the window. */
async function rankingFromOrders(sequelize: Sequelize, since: Date) {
  return sequelize.query(
    `SELECT oi.product_id AS productId, p.name AS name,
            CAST(SUM(oi.quantity) AS SIGNED) AS soldQuantity,
            CAST(SUM(oi.quantity * oi.unit_price) AS SIGNED) AS revenue
     FROM orders o
     JOIN order_items oi ON oi.order_id = o.id
     JOIN products p ON p.id = oi.product_id
     WHERE o.status = 'PAID' AND o.paid_at >= ?
     GROUP BY oi.product_id, p.name
     ORDER BY soldQuantity DESC, productId ASC
     LIMIT ?`,
    { replacements: [sqlDateTime(since), TOP_LIMIT], type: QueryTypes.SELECT },
  );
}

/** Runs `work` `times` times in a row. */
const repeat = (times: number, work: () => Promise<unknown>) => async () => {
  for (let i = 0; i < times; i++) await work();
};

interface RefreshRow {
  orders: number;
  /** Per refresh, the median of the rounds. */
  baseline: { cpuMs: number; wallMs: number };
  sums: { cpuMs: number; wallMs: number };
  sumsRows: number;
}

runHistoryBench('top-sellers', async ({ db, sequelize, pid, sizes, rounds, dir }) => {
  const products = createProductsRepository(sequelize);
  const stock = createStockRepository(sequelize);

  const refresh: RefreshRow[] = [];
  let have = 0;
  for (const orders of sizes) {
    log(`${String(orders)} PAID orders in the window:`);
    await insertPaidOrders(db, have + 1, orders);
    have = orders;
    // The sums as the order workers would have left them.
    const s = sequelize;
    await inTransaction(s, (tx) =>
      stock.rebuildSales(tx, new Date(Date.now() - SALES_KEPT_HOURS * 3_600_000)),
    );
    const since = () => new Date(Date.now() - TOP_WINDOW_HOURS * 3_600_000);
    const baseline = () => rankingFromOrders(s, since());
    const sums = () => products.topSellers(since(), TOP_LIMIT);
    const [expected, got] = [await baseline(), await sums()];
    if (JSON.stringify(expected) !== JSON.stringify(got)) {
      throw new Error(`the rankings differ:\n${JSON.stringify(expected)}\n${JSON.stringify(got)}`);
    }
    // A sample runs for about a second at least (the CPU clock ticks every 10 ms).
    const timesFor = async (work: () => Promise<unknown>) =>
      Math.max(1, Math.ceil(1_000 / Math.max(0.05, (await serverCpuOf(pid, work)).wallMs)));
    const times = { baseline: await timesFor(baseline), sums: await timesFor(sums) };
    const samples: Record<'baseline' | 'sums', { cpuMs: number; wallMs: number }[]> = {
      baseline: [],
      sums: [],
    };
    for (let round = 0; round < rounds; round++) {
      const order =
        round % 2 === 0 ? (['baseline', 'sums'] as const) : (['sums', 'baseline'] as const);
      for (const variant of order) {
        const work = variant === 'baseline' ? baseline : sums;
        const used = await serverCpuOf(pid, repeat(times[variant], work));
        samples[variant].push({
          cpuMs: used.cpuUs / 1_000 / times[variant],
          wallMs: used.wallMs / times[variant],
        });
      }
    }
    const perRefresh = (list: { cpuMs: number; wallMs: number }[]) => ({
      cpuMs: median(list.map((x) => x.cpuMs)),
      wallMs: median(list.map((x) => x.wallMs)),
    });
    const [counted] = await s.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM product_sales_hourly',
      { type: QueryTypes.SELECT },
    );
    const sumsRows = counted?.n ?? 0;
    const row = {
      orders,
      baseline: perRefresh(samples.baseline),
      sums: perRefresh(samples.sums),
      sumsRows,
    };
    refresh.push(row);
    log(
      `  per refresh: baseline ${row.baseline.cpuMs.toFixed(1)} ms CPU (${row.baseline.wallMs.toFixed(1)} ms), sums ${row.sums.cpuMs.toFixed(2)} ms CPU (${row.sums.wallMs.toFixed(2)} ms) over ${String(sumsRows)} product-hours`,
    );
  }

  // The order transaction's share: a batch of orders of one unit each, of distinct products
  // (as the bench's many-products batches), with and without the sums' statement.
  log(
    `write cost: ${String(WRITE_TRANSACTIONS)} batches of ${String(BATCH_ORDERS)} orders per sample, alternated`,
  );
  let batchNo = 0;
  const nextBatch = () => {
    const first = (batchNo++ * BATCH_ORDERS) % PRODUCTS;
    return Array.from({ length: BATCH_ORDERS }, (_, i) => ({
      productId: 1 + ((first + i) % PRODUCTS),
      quantity: 1,
      unitPrice: 100,
    })).sort((a, b) => a.productId - b.productId);
  };
  const s = sequelize;
  const transaction = (withSums: boolean) => () => {
    const lines = nextBatch();
    const takes = new Map(lines.map((l) => [l.productId, 1]));
    return inTransaction(s, async (tx) => {
      await stock.lockForOrders(tx, [...takes.keys()], []);
      await stock.takeLocked(tx, takes);
      if (withSums) await stock.addSalesLocked(tx, new Date(), lines);
    });
  };
  const write = { without: [] as number[], with: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    for (const withSums of round % 2 === 0 ? [false, true] : [true, false]) {
      const used = await serverCpuOf(pid, repeat(WRITE_TRANSACTIONS, transaction(withSums)));
      write[withSums ? 'with' : 'without'].push(used.cpuUs / WRITE_TRANSACTIONS);
    }
  }
  const perBatch = { without: median(write.without), with: median(write.with) };
  const writePerOrderUs = (perBatch.with - perBatch.without) / BATCH_ORDERS;
  log(
    `  MariaDB CPU per batch: ${perBatch.without.toFixed(0)} µs without the sums, ${perBatch.with.toFixed(0)} µs with them`,
  );
  // Before, every refresh read every order of the window: an order was read by each of the
  // refreshes of its 72 h.
  const refreshesPerWindow = (TOP_WINDOW_HOURS * 3_600_000) / TOP_PERIOD_MS;
  const readPerOrderUs = refresh.map(
    (r) => ((r.baseline.cpuMs * 1_000) / r.orders) * refreshesPerWindow,
  );

  const result = {
    refresh,
    write: { batchOrders: BATCH_ORDERS, perBatchUs: perBatch, perOrderUs: writePerOrderUs },
    before: { refreshesPerWindow, readPerOrderUs },
    rounds,
    products: PRODUCTS,
  };
  writeFileSync(path.join(dir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(
    path.join(dir, 'refresh-cpu.svg'),
    lineChart({
      title: 'MariaDB CPU per top-sellers refresh',
      xLabel: 'PAID orders in the 72 h window',
      yLabel: 'CPU ms per refresh (log)',
      logY: true,
      series: [
        {
          name: 'every PAID order item (before)',
          points: refresh.map((r) => [r.orders, r.baseline.cpuMs]),
        },
        { name: 'hourly sales sums (now)', points: refresh.map((r) => [r.orders, r.sums.cpuMs]) },
      ],
    }),
  );
  process.stdout.write(
    [
      '| PAID orders in the window | before: CPU ms per refresh (wall ms) | now: CPU ms per refresh (wall ms) | before ÷ now |',
      '| ---: | ---: | ---: | ---: |',
      ...refresh.map(
        (r) =>
          `| ${r.orders.toLocaleString('en-US')} | ${r.baseline.cpuMs.toFixed(0)} (${r.baseline.wallMs.toFixed(0)}) | ${r.sums.cpuMs.toFixed(2)} (${r.sums.wallMs.toFixed(2)}) | ${(r.baseline.cpuMs / r.sums.cpuMs).toFixed(0)}× |`,
      ),
      '',
      `MariaDB CPU per batch of ${String(BATCH_ORDERS)} orders: ${perBatch.without.toFixed(0)} µs without the sums, ${perBatch.with.toFixed(0)} µs with them: ${writePerOrderUs.toFixed(1)} µs per order, once`,
      `before, each order was read by the ${refreshesPerWindow.toLocaleString('en-US')} refreshes of its 72 h: ${readPerOrderUs.map((us) => `${(us / 1_000).toFixed(1)} ms`).join(', ')} of MariaDB CPU per order at the sizes above`,
      `results: ${dir}`,
      '',
    ].join('\n'),
  );
  return 0;
});
