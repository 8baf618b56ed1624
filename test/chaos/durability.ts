import { runScenario, type RunOptions } from './run';
import { durabilitySpecs } from './scenarios';
import type { ScenarioResult } from './verify';

/**
 * Durability of a 202 and what it costs: the same full-speed load against a dedicated Redis
 * that is SIGKILLed and restarted, with `appendfsync everysec` and then `always`. Reports, per
 * policy, accepted orders that never became final and the accept throughput before the kill.
 *
 * A SIGKILL only kills the process: what Redis had written to the AOF is in the kernel's page
 * cache and survives, so both policies should lose nothing here. The second of acknowledged
 * writes `everysec` risks is lost only when the machine itself dies, which a loopback test
 * cannot do; the throughput difference is the price of closing that window.
 */
export async function runDurability(
  short: boolean,
  options: RunOptions,
): Promise<{ results: ScenarioResult[]; summary: string }> {
  const results: ScenarioResult[] = [];
  for (const spec of durabilitySpecs(short)) results.push(await runScenario(spec, options));
  const line = (r: ScenarioResult) =>
    `${String(r.settings.appendfsync)}: ${r.orders.acceptedPerSecondBefore} accepted orders/s ` +
    `before the kill (202 latency p50 ${r.orders.acceptLatencyBefore.p50Ms ?? '—'} ms, ` +
    `p95 ${r.orders.acceptLatencyBefore.p95Ms ?? '—'} ms), ${r.orders.accepted} accepted in all, ` +
    `${r.orders.lost} lost`;
  const [everysec, always] = results;
  const cost =
    everysec && always && everysec.orders.acceptedPerSecondBefore > 0
      ? Math.round(
          (1 - always.orders.acceptedPerSecondBefore / everysec.orders.acceptedPerSecondBefore) *
            100,
        )
      : null;
  const summary = [
    ...results.map(line),
    cost === null
      ? 'cost of always: not measurable'
      : `cost of always over everysec: ${cost} % of accept throughput`,
  ].join('\n');
  return { results, summary };
}
