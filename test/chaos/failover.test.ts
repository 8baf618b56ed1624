import { testDatabaseUrl, testRedisUrl } from '../harness/env';
import { runScenario, type RunOptions } from './run';
import { scenarioSpecs, type ScenarioSpec } from './scenarios';

/**
 * A Redis Cluster master SIGKILLed under order load (`npm run chaos -- --short --scenario
 * redis-failover`): each scenario starts a 6-node cluster of its own and the real API and
 * worker processes on it, 16 partitions. With REDIS_MIN_REPLICAS_ACK=1 nothing accepted may be
 * lost; without it, what is lost is measured, not asserted (load/REPORT.md has the figures), but
 * money still moves only for orders the database has: the ones clients were told were paid and
 * the lost ones applied all the same.
 */
const options: RunOptions = {
  keep: false,
  mysqlUrl: testDatabaseUrl(''),
  redisUrl: testRedisUrl(),
  log: () => undefined,
};

const spec = (name: string): ScenarioSpec => {
  const found = scenarioSpecs(true).find((s) => s.name === name);
  if (!found) throw new Error(`no scenario ${name}`);
  return found;
};

/** Phases, the failover itself (about 10 s), set-up, drain and verification. */
const budget = (s: ScenarioSpec) => s.warmMs + s.afterMs + s.drainMs + 60_000;

describe('Redis Cluster master failover, short', () => {
  it(
    'When a master is SIGKILLed under load with REDIS_MIN_REPLICAS_ACK=1, then its replica takes over, every accepted order becomes final, none is applied twice and reconcile passes',
    async () => {
      const result = await runScenario(spec('redis-failover'), options);
      expect(result.orders.accepted).toBeGreaterThan(100);
      expect({
        error: result.error,
        failures: result.failures,
        lost: result.orders.lost,
        reconcileOk: result.invariants?.reconcileOk,
        balanceMismatches: result.invariants?.balanceMismatches,
        statusMismatches: result.invariants?.statusMismatches,
        examples: result.invariants?.examples,
        lostExamples: result.lostExamples,
        unexpectedExits: result.unexpectedExits,
      }).toEqual({
        error: null,
        failures: [],
        lost: 0,
        reconcileOk: true,
        balanceMismatches: 0,
        statusMismatches: 0,
        examples: [],
        lostExamples: [],
        unexpectedExits: [],
      });
      // The killed master's partitions accepted orders again, by themselves.
      expect(result.failover?.partitionsOnKilledMaster.length).toBeGreaterThan(0);
      expect(result.failover?.firstAcceptOnKilledMasterMs).toEqual(expect.any(Number));
    },
    budget(spec('redis-failover')),
  );

  it(
    'When a master is SIGKILLed under load without replica acknowledgements, then the run completes, reconcile passes, every balance is what its clients were told plus the lost orders applied all the same, and the loss is measured',
    async () => {
      const result = await runScenario(spec('redis-failover-no-acks'), options);
      expect(result.orders.accepted).toBeGreaterThan(100);
      expect({
        error: result.error,
        failures: result.failures,
        reconcileOk: result.invariants?.reconcileOk,
        balanceMismatches: result.invariants?.balanceMismatches,
        statusMismatches: result.invariants?.statusMismatches,
        examples: result.invariants?.examples,
        unexpectedExits: result.unexpectedExits,
      }).toEqual({
        error: null,
        failures: [],
        reconcileOk: true,
        balanceMismatches: 0,
        statusMismatches: 0,
        examples: [],
        unexpectedExits: [],
      });
      expect(result.failover?.lost).toEqual(expect.any(Number));
      expect(result.failover?.firstAcceptOnKilledMasterMs).toEqual(expect.any(Number));
    },
    budget(spec('redis-failover-no-acks')),
  );
});
