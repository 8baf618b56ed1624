import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SALES_KEPT_HOURS } from '../../shared/catalog/top-sellers';
import { loadConfig } from '../../shared/config';
import { reconcile, type InvariantCheck } from '../../shared/db/reconcile';
import { createStockRepository } from '../../shared/db/repositories/stock';
import { inTransaction } from '../../shared/db/transaction';
import { RECENT_MARGIN_MS } from '../../workers/reconcile/schedule';
import { lineChart } from '../report/render';
import { median, serverCpuOf } from './cpu';
import { insertPaidOrders, runHistoryBench, settleHistory } from './history';

/**
 * `npm run bench:reconcile [-- --orders 100000,300000,900000] [--rounds 3]`
 *
 * What one run of the reconcile's invariant checks (`shared/db/reconcile.ts`) costs MariaDB as
 * the orders pile up, on a MariaDB of its own with a consistent history (`history.ts`), its CPU
 * read from /proc: a full run (every row) and a recent run (the rows since the run before it,
 * as the workers' schedule runs between full ones: the last RECONCILE_INTERVAL_S plus the
 * margin). The bench fails if any check finds drift in that history. The share of a database
 * core the checks take is the CPU of one run ÷ the interval.
 */

/** `RECONCILE_INTERVAL_S` when nothing sets it. */
const DEFAULT_INTERVAL_S = loadConfig({}).reconcile.intervalS;

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  orders: number;
  /** Medians of the rounds: a full run, then a recent one. */
  cpuS: number;
  wallS: number;
  recentCpuS: number;
  recentWallS: number;
  /** The last recent run's wall time: stock-conservation's query, and every other check's. */
  recentStockS: number;
  recentOthersS: number;
}

/** The one check whose recent form reads the whole history of the products sold since. */
const STOCK = 'stock-conservation';

/** A recent run's moment, as the schedule picks it between full runs. */
const recentSince = () => new Date(Date.now() - DEFAULT_INTERVAL_S * 1_000 - RECENT_MARGIN_MS);

runHistoryBench('reconcile', async ({ db, sequelize, pid, sizes, rounds, dir }) => {
  const s = sequelize;
  const stock = createStockRepository(s);

  const rows: Row[] = [];
  /** Each check's time in the last full and recent runs at the largest size. */
  let perCheck: { check: string; ms: number; recentMs: number }[] = [];
  let have = 0;
  for (const orders of sizes) {
    log(`${String(orders)} PAID orders:`);
    await insertPaidOrders(db, have + 1, orders);
    have = orders;
    await settleHistory(db);
    await inTransaction(s, (tx) =>
      stock.rebuildSales(tx, new Date(Date.now() - SALES_KEPT_HOURS * 3_600_000)),
    );
    for (const since of [undefined, recentSince()]) {
      const drift = (await reconcile(s, since)).filter((check) => check.violations.length > 0);
      if (drift.length > 0) {
        throw new Error(`the history drifts: ${drift.map((c) => c.name).join(', ')}`);
      }
    }
    const full = [];
    const recent = [];
    let checks: InvariantCheck[] = [];
    let recentChecks: InvariantCheck[] = [];
    for (let round = 0; round < rounds; round++) {
      full.push(
        await serverCpuOf(pid, async () => {
          checks = await reconcile(s);
        }),
      );
      const since = recentSince();
      recent.push(
        await serverCpuOf(pid, async () => {
          recentChecks = await reconcile(s, since);
        }),
      );
    }
    perCheck = checks.map((c, i) => ({
      check: c.name,
      ms: c.ms,
      recentMs: recentChecks[i]?.ms ?? 0,
    }));
    const row = {
      orders,
      cpuS: median(full.map((x) => x.cpuUs)) / 1e6,
      wallS: median(full.map((x) => x.wallMs)) / 1e3,
      recentCpuS: median(recent.map((x) => x.cpuUs)) / 1e6,
      recentWallS: median(recent.map((x) => x.wallMs)) / 1e3,
      recentStockS: (recentChecks.find((c) => c.name === STOCK)?.ms ?? 0) / 1e3,
      recentOthersS:
        recentChecks.filter((c) => c.name !== STOCK).reduce((t, c) => t + c.ms, 0) / 1e3,
    };
    rows.push(row);
    log(
      `  per reconcile: full ${row.cpuS.toFixed(2)} s of MariaDB CPU (${row.wallS.toFixed(2)} s), recent ${row.recentCpuS.toFixed(3)} s (${row.recentWallS.toFixed(3)} s); ${String(rounds)} rounds`,
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
      series: [
        { name: 'full run', points: rows.map((r) => [r.orders, r.cpuS]) },
        { name: 'recent run', points: rows.map((r) => [r.orders, r.recentCpuS]) },
      ],
    }),
  );
  writeFileSync(
    path.join(dir, 'reconcile-recent.svg'),
    lineChart({
      title: 'Wall time of a recent run, by check',
      xLabel: 'PAID orders in the database',
      yLabel: 's per run',
      series: [
        { name: STOCK, points: rows.map((r) => [r.orders, r.recentStockS]) },
        { name: 'the other checks', points: rows.map((r) => [r.orders, r.recentOthersS]) },
      ],
    }),
  );
  process.stdout.write(
    [
      `| PAID orders | full run: MariaDB CPU | wall time | share of a core at RECONCILE_INTERVAL_S=${String(DEFAULT_INTERVAL_S)} | recent run: MariaDB CPU | wall time | share of a core | recent ÷ full | recent: ${STOCK} (wall) | recent: the other checks (wall) |`,
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map((r) =>
        [
          '',
          r.orders.toLocaleString('en-US'),
          `${r.cpuS.toFixed(2)} s`,
          `${r.wallS.toFixed(2)} s`,
          `${((100 * r.cpuS) / DEFAULT_INTERVAL_S).toFixed(1)} %`,
          `${r.recentCpuS.toFixed(3)} s`,
          `${r.recentWallS.toFixed(3)} s`,
          `${((100 * r.recentCpuS) / DEFAULT_INTERVAL_S).toFixed(2)} %`,
          `${(r.recentCpuS / r.cpuS).toFixed(3)}×`,
          `${r.recentStockS.toFixed(3)} s`,
          `${r.recentOthersS.toFixed(3)} s`,
          '',
        ]
          .join(' | ')
          .trim(),
      ),
      '',
      `each check, the last runs at ${(rows.at(-1)?.orders ?? 0).toLocaleString('en-US')} orders (full, recent):`,
      ...[...perCheck]
        .sort((a, b) => b.ms - a.ms)
        .map(
          (c) =>
            `  ${c.check.padEnd(36)} ${c.ms.toLocaleString('en-US').padStart(7)} ms ${c.recentMs.toLocaleString('en-US').padStart(7)} ms`,
        ),
      '',
      `results: ${dir}`,
      '',
    ].join('\n'),
  );
  return 0;
});
