import { runScenario } from './run';
import { durabilitySpecs } from './scenarios';
import { testDatabaseUrl, testRedisUrl } from '../harness/env';

/**
 * A 202 is a promise: the order is in Redis before the client hears "accepted". With the AOF
 * fsynced on every write, a SIGKILLed Redis comes back with every accepted order, and the
 * worker finishes each of them.
 */
describe('Durability of a 202', () => {
  const always = durabilitySpecs(true).find((s) => s.name === 'durability-always');
  if (!always) throw new Error('no durability-always scenario');

  it(
    'When a dedicated Redis with appendfsync always is SIGKILLed under full-speed submits and restarted over the same directory, then no accepted order is lost',
    async () => {
      const result = await runScenario(always, {
        keep: false,
        mysqlUrl: testDatabaseUrl(''),
        redisUrl: testRedisUrl(),
        log: () => undefined,
      });
      expect(result.error).toBeNull();
      expect(result.unexpectedExits).toEqual([]);
      expect(result.settings.appendfsync).toBe('always');
      expect(result.settings.workers).toBe(1);
      // The kill really happened under load: orders were accepted before and after it.
      expect(result.orders.acceptedPerSecondBefore).toBeGreaterThan(20);
      expect(result.recovery?.firstAcceptMs).not.toBeNull();
      // Together, so a failure shows whether the orders not final were ON_HOLD or unresolved,
      // and which (key, id, the last status their client saw, its cancellation, its row); with
      // the processes' warnings beside it.
      if (result.orders.lost > 0) console.error('warnings and errors:', result.problems);
      expect({
        lost: result.orders.lost,
        onHold: result.orders.onHold,
        lostExamples: result.lostExamples,
      }).toEqual({ lost: 0, onHold: 0, lostExamples: [] });
      expect(result.orders.paid + result.orders.failed + result.orders.cancelled).toBe(
        result.orders.accepted,
      );
      expect(result.invariants?.reconcileOk).toBe(true);
      expect(result.invariants?.balanceMismatches).toBe(0);
      expect(result.invariants?.examples).toEqual([]);
    },
    always.warmMs + always.faultMs + always.afterMs + always.drainMs + 30_000,
  );
});
