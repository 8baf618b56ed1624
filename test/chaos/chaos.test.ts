import { runScenario, type RunOptions } from './run';
import { scenarioSpecs, type ScenarioSpec } from './scenarios';
import { testDatabaseUrl, testRedisUrl } from '../harness/env';

/**
 * The chaos suite's short version (`npm run chaos -- --short`): the real API and worker
 * processes, MariaDB and Redis behind fault proxies, a few hundred orders per scenario.
 */
const options: RunOptions = {
  keep: false,
  mysqlUrl: testDatabaseUrl(''),
  redisUrl: testRedisUrl(),
  // Progress lines would drown jest's output; the verdict carries the figures that matter.
  log: () => undefined,
};

const spec = (name: string): ScenarioSpec => {
  const found = scenarioSpecs(true).find((s) => s.name === name);
  if (!found) throw new Error(`no scenario ${name}`);
  return found;
};

/** A scenario's budget: its own phases, plus set-up, drain and verification. */
const budget = (s: ScenarioSpec) => s.warmMs + s.faultMs + s.afterMs + s.drainMs + 30_000;

/** The figures that must hold, with the examples that explain them when they do not. */
async function expectNothingLost(name: string) {
  const result = await runScenario(spec(name), options);
  // The scenario's own error first: a run that failed to set up has accepted nothing.
  expect({ error: result.error, acceptedOver100: result.orders.accepted > 100 }).toEqual({
    error: null,
    acceptedOver100: true,
  });
  expect({
    error: result.error,
    lost: result.orders.lost,
    reconcileOk: result.invariants?.reconcileOk,
    balanceMismatches: result.invariants?.balanceMismatches,
    statusMismatches: result.invariants?.statusMismatches,
    examples: result.invariants?.examples,
    unexpectedExits: result.unexpectedExits,
  }).toEqual({
    error: null,
    lost: 0,
    reconcileOk: true,
    balanceMismatches: 0,
    statusMismatches: 0,
    examples: [],
    unexpectedExits: [],
  });
  return result;
}

describe('Chaos, short', () => {
  it(
    'When a random worker is SIGKILLed every 1.5 s under load, then every accepted order becomes final and reconcile passes',
    async () => {
      await expectNothingLost('worker-kill');
    },
    budget(spec('worker-kill')),
  );

  it(
    'When the database refuses connections for longer than the retry budget, then no order is lost and none is put ON_HOLD',
    async () => {
      const result = await expectNothingLost('db-outage');
      expect(result.orders.onHold).toBe(0);
    },
    budget(spec('db-outage')),
  );

  it(
    'When the database is partitioned (connections hang), then no order is lost and none is put ON_HOLD',
    async () => {
      const result = await expectNothingLost('db-outage-long');
      expect(result.orders.onHold).toBe(0);
    },
    budget(spec('db-outage-long')),
  );

  it(
    'When Redis is partitioned (connections hang) under load, then every accepted order becomes final and reconcile passes',
    async () => {
      await expectNothingLost('redis-outage');
    },
    budget(spec('redis-outage')),
  );

  it(
    'When the AOF Redis is SIGKILLed and restarted under load, then every accepted order becomes final and reconcile passes',
    async () => {
      await expectNothingLost('redis-restart');
    },
    budget(spec('redis-restart')),
  );

  it(
    'When the database process is SIGKILLed under load and restarted over its data, then no order is lost or applied twice and none is put ON_HOLD',
    async () => {
      const result = await expectNothingLost('db-crash');
      expect(result.orders.onHold).toBe(0);
      expect(result.fault.restartMs).toEqual(expect.any(Number));
      expect(result.recovery?.newOrderPaidMs).toEqual(expect.any(Number));
      expect(result.recovery?.backlogDrainedMs).toEqual(expect.any(Number));
    },
    budget(spec('db-crash')),
  );
});
