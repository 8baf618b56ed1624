import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SALES_KEPT_HOURS } from '../../shared/catalog/top-sellers';
import { loadConfig } from '../../shared/config';
import { reconcile, type InvariantCheck } from '../../shared/db/reconcile';
import { createStockRepository } from '../../shared/db/repositories/stock';
import { inTransaction } from '../../shared/db/transaction';
import { lineChart } from '../report/render';
import { median, serverCpuOf } from './cpu';
import { insertPaidOrders, runHistoryBench, settleHistory } from './history';

/**
 * `npm run bench:reconcile [-- --orders 100000,300000,900000] [--rounds 3]`
 *
 * What one run of the reconcile's invariant checks (`shared/db/reconcile.ts`: full scans, on
 * purpose) costs MariaDB as the orders pile up, on a MariaDB of its own with a consistent
 * history (`history.ts`), its CPU read from /proc. The run fails if any check finds drift in
 * that history. The workers run these checks every `RECONCILE_INTERVAL_S` (300 by default), so
 * the share of a database core they take is the CPU of one run ÷ the interval.
 */

/** `RECONCILE_INTERVAL_S` when nothing sets it. */
const DEFAULT_INTERVAL_S = loadConfig({}).reconcile.intervalS;

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  orders: number;
  /** Medians of the rounds. */
  cpuS: number;
  wallS: number;
}

runHistoryBench('reconcile', async ({ db, sequelize, pid, sizes, rounds, dir }) => {
  const s = sequelize;
  const stock = createStockRepository(s);

  const rows: Row[] = [];
  /** Each check's time in the last run at the largest size. */
  let perCheck: { check: string; ms: number }[] = [];
  let have = 0;
  for (const orders of sizes) {
    log(`${String(orders)} PAID orders:`);
    await insertPaidOrders(db, have + 1, orders);
    have = orders;
    await settleHistory(db);
    await inTransaction(s, (tx) =>
      stock.rebuildSales(tx, new Date(Date.now() - SALES_KEPT_HOURS * 3_600_000)),
    );
    const drift = (await reconcile(s)).filter((check) => check.violations.length > 0);
    if (drift.length > 0) {
      throw new Error(`the history drifts: ${drift.map((c) => c.name).join(', ')}`);
    }
    const samples = [];
    let checks: InvariantCheck[] = [];
    for (let round = 0; round < rounds; round++) {
      samples.push(
        await serverCpuOf(pid, async () => {
          checks = await reconcile(s);
        }),
      );
    }
    perCheck = checks.map((c) => ({ check: c.name, ms: c.ms }));
    const row = {
      orders,
      cpuS: median(samples.map((x) => x.cpuUs)) / 1e6,
      wallS: median(samples.map((x) => x.wallMs)) / 1e3,
    };
    rows.push(row);
    log(
      `  per reconcile: ${row.cpuS.toFixed(2)} s of MariaDB CPU (${row.wallS.toFixed(2)} s); ${String(rounds)} rounds`,
    );
  }

  writeFileSync(
    path.join(dir, 'result.json'),
    `${JSON.stringify({ rows, perCheck, rounds }, null, 2)}\n`,
  );
  writeFileSync(
    path.join(dir, 'reconcile-cpu.svg'),
    lineChart({
      title: "MariaDB CPU per run of the reconcile's invariant checks",
      xLabel: 'PAID orders in the database',
      yLabel: 'CPU s per run',
      series: [{ name: 'all checks', points: rows.map((r) => [r.orders, r.cpuS]) }],
    }),
  );
  process.stdout.write(
    [
      `| PAID orders | MariaDB CPU per run | wall time per run | share of a core at RECONCILE_INTERVAL_S=${String(DEFAULT_INTERVAL_S)} |`,
      '| ---: | ---: | ---: | ---: |',
      ...rows.map(
        (r) =>
          `| ${r.orders.toLocaleString('en-US')} | ${r.cpuS.toFixed(2)} s | ${r.wallS.toFixed(2)} s | ${((100 * r.cpuS) / DEFAULT_INTERVAL_S).toFixed(1)} % |`,
      ),
      '',
      `each check, the last run at ${(rows.at(-1)?.orders ?? 0).toLocaleString('en-US')} orders:`,
      ...[...perCheck]
        .sort((a, b) => b.ms - a.ms)
        .map((c) => `  ${c.check.padEnd(36)} ${c.ms.toLocaleString('en-US')} ms`),
      '',
      `results: ${dir}`,
      '',
    ].join('\n'),
  );
  return 0;
});
