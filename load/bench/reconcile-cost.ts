import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Sequelize } from 'sequelize';
import { SALES_KEPT_HOURS } from '../../shared/catalog/top-sellers';
import { reconcile, type InvariantCheck } from '../../shared/db/reconcile';
import { createStockRepository } from '../../shared/db/repositories/stock';
import { createSequelize } from '../../shared/db/sequelize';
import { inTransaction } from '../../shared/db/transaction';
import { MigratedDatabase } from '../../test/harness/database';
import { DedicatedMariaDb } from '../../test/harness/mariadb';
import { resultsDir } from '../../test/harness/paths';
import { lineChart } from '../report/render';
import { median, serverCpuOf } from './cpu';
import { insertPaidOrders, seedHistory, settleHistory } from './history';
import { BENCH_MARIADB } from './setup';

/**
 * `npm run bench:reconcile [-- --orders 100000,300000,900000] [--rounds 3]`
 *
 * What one run of the reconcile's invariant checks (`shared/db/reconcile.ts`: full scans, on
 * purpose) costs MariaDB as the orders pile up, on a MariaDB of its own with a consistent
 * history (`history.ts`), its CPU read from /proc. The run fails if any check finds drift in
 * that history. The workers run these checks every `RECONCILE_INTERVAL_S` (300 by default), so
 * the share of a database core they take is the CPU of one run ÷ the interval.
 */

const DEFAULT_INTERVAL_S = 300;

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  orders: number;
  /** Medians of the rounds. */
  cpuS: number;
  wallS: number;
}

async function main(): Promise<number> {
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

  const dir = resultsDir(new Date(), 'reconcile');
  mkdirSync(dir, { recursive: true });
  const server = await DedicatedMariaDb.start(BENCH_MARIADB);
  let db: MigratedDatabase | undefined;
  let sequelize: Sequelize | undefined;
  try {
    const pid = server.pid;
    if (pid === undefined) throw new Error('MariaDB did not start');
    db = await MigratedDatabase.create(server.url(), 'shop_bench_reconcile');
    sequelize = createSequelize(db.url, { poolMax: 2 });
    const s = sequelize;
    await seedHistory(db);
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
  } finally {
    await sequelize?.close();
    await db?.close(false);
    await server.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  },
);
