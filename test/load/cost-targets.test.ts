import type { CostedRun, EndToEnd } from '../../load/bench/cost';
import {
  ACCEPTS,
  ACCEPTS_ALONE,
  ACCEPTS_ALONE_AGAIN,
  BARE,
  BARE_AGAIN,
  BARE_ACCEPT,
  BARE_HEADERS,
  CHARGES,
  DETAIL,
  DETAIL_AGAIN,
  EXPRESS,
  EXPRESS_AGAIN,
  costTargets,
} from '../../load/bench/table';

// Timing-free: the table from runs whose CPU is given, as the bench computes it.
const run = (name: string, cpu: Record<string, number>, ok = 1_000): CostedRun => ({
  name,
  generator: 'wrk',
  seconds: 10,
  answered: ok,
  ok,
  requestsPerSecond: ok / 10,
  p50Ms: 1,
  p99Ms: 2,
  non2xx: 0,
  statuses: {},
  errors: 0,
  cpu,
});

const endToEnd = (name: string, finalised: number, cpu: Record<string, number>): EndToEnd => ({
  name,
  generator: 'wrk',
  accepted: finalised,
  finalised,
  onHold: 0,
  toFinalS: name === CHARGES ? 2 : 4,
  cpu,
});

describe("The bench's cost table", () => {
  const runs = [
    run(BARE, { server: 20_000 }),
    run(BARE_HEADERS, { server: 22_000 }),
    run(EXPRESS, { server: 40_000 }),
    run(BARE_ACCEPT, { server: 50_000 }),
    run(DETAIL, { api: 24_000 }),
    run(BARE_AGAIN, { server: 20_000 }),
    run(DETAIL_AGAIN, { api: 26_000 }),
    run(ACCEPTS_ALONE, { api: 80_000, redis: 50_000 }),
    run(EXPRESS_AGAIN, { server: 40_000 }),
    run(ACCEPTS_ALONE_AGAIN, { api: 90_000, redis: 50_000 }),
    run(ACCEPTS, { api: 70_000 }),
    run(CHARGES, { api: 60_000 }),
  ];
  const e2e = [
    endToEnd(ACCEPTS, 1_000, { api: 70_000, workers: 90_000, redis: 90_000, mariadb: 110_000 }),
    endToEnd(CHARGES, 1_000, { api: 60_000, workers: 60_000, redis: 70_000, mariadb: 50_000 }),
  ];
  const raw = {
    label: 'many products',
    orders: 1_000,
    perSecond: 1_000,
    clientUs: 400,
    mariadbUs: 600,
  };
  const rows = costTargets(['wrk'], runs, e2e, raw, []);
  const row = (prefix: string) => {
    const found = rows.find((r) => r.figure.startsWith(prefix));
    if (!found) throw new Error(`no row ${prefix}`);
    return found;
  };

  it("When the API's accepts were measured alone, between Express runs, and with the workers, then the goal is judged on the median of the alone pairs and the other is information", () => {
    // Express 40, API 80, Express 40, API 90: pairs 2.0, 2.0, 2.25.
    expect(row('API CPU per accepted order')).toMatchObject({
      value: 2,
      detail:
        'median of 3 adjacent pairs, Express / API / Express / API: 40 / 80 / 40 / 90 µs; pairs 2.00×, 2.00×, 2.25×',
      goal: '≤ 1.5×',
      met: false,
    });
    expect(row('(info) the same, the workers running')).toMatchObject({
      value: 1.75,
      detail: '70 / 40 µs',
      goal: '(info)',
      met: undefined,
    });
    expect(row('(why) bare node:http taking an order')).toMatchObject({
      value: 1.25,
      detail: '50 / 40 µs',
      goal: '(info)',
    });
    expect(row('(why) API CPU per accept')).toMatchObject({ value: 1.6, detail: '80 / 50 µs' });
  });

  it('When the end-to-end and baseline costs are given, then every ratio, its goal and whether it is met follow from them', () => {
    expect(row('API CPU per cached product detail')).toMatchObject({ value: 1.2, met: false });
    expect(row('(why) bare node:http sending')).toMatchObject({ value: 1.1, goal: '(info)' });
    expect(row('CPU of API + workers')).toMatchObject({
      value: 0.36,
      detail: '360 / 1000 µs',
      goal: '≤ 0.25×',
      met: false,
    });
    expect(row("(why) MariaDB's CPU alone")).toMatchObject({
      value: 0.11,
      detail: '110 / 1000 µs',
      goal: '(info)',
      met: undefined,
    });
    expect(row("(why) MariaDB's and Redis's CPU alone")).toMatchObject({
      value: 0.2,
      detail: '200 / 1000 µs',
    });
    expect(row('charges: CPU per final charge')).toMatchObject({
      value: 240 / 360,
      goal: '≤ 1.0×',
      met: true,
    });
    expect(row('charges: time to final')).toMatchObject({ value: 0.5, met: true });
    expect(row('cluster mode')).toMatchObject({ goal: '≤ 1.2×', met: undefined });
  });
});
