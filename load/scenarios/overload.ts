import { acceptedOf } from './phases';
import { Keys, oneItem, pick, submit, tracked } from './requests';
import { waitUntilFinal } from './settle';
import {
  ORIGIN_SIZE,
  type Figure,
  type PhaseResult,
  type Scenario,
  type ScenarioContext,
} from './types';

const CAPACITY_S = 10;
const RATE_PHASE_S = 20;
const MULTIPLIERS = [2, 3];
/**
 * An open-loop rate needs enough connections in flight (Little's law: rate × latency). Sized
 * from the capacity phase's p95 with headroom; each autocannon connection has one request
 * out at a time.
 */
const HEADROOM = 1.5;
const MIN_LATENCY_S = 0.05;
const MAX_CONNECTIONS = 1_000;

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const pct = (part: number, whole: number) =>
  whole === 0 ? '0 %' : `${((part / whole) * 100).toFixed(1)} %`;

/** Waits until the backlog of the phase before is gone, so each phase starts from empty. */
async function drainBetween(ctx: ScenarioContext, phases: PhaseResult[]): Promise<void> {
  const accepted = acceptedOf(phases, 'order');
  const settled = await ctx.monitor.span('drain', () =>
    waitUntilFinal(
      ctx.world,
      { orders: accepted, charges: 0 },
      { stallMs: 60_000, maxMs: 10 * 60_000 },
    ),
  );
  ctx.log(
    `backlog drained in ${(settled.waitedMs / 1_000).toFixed(1)} s ` +
      `(${int(settled.finalOrders)} of ${int(accepted)} final)`,
  );
}

function rateFigures(phase: PhaseResult, multiplier: number): Figure[] {
  const overloaded = phase.statuses['503 OVERLOADED'] ?? 0;
  const otherNon2xx = phase.non2xx - overloaded;
  const ok = phase.okLatency;
  const sentPerSecond = phase.durationS > 0 ? phase.sent / phase.durationS : 0;
  return [
    {
      label: `${multiplier}× offered / sent`,
      value: `${int(phase.load.overallRate ?? 0)} req/s offered, ${int(sentPerSecond)} req/s sent (${phase.load.connections} connections)`,
    },
    { label: `${multiplier}× goodput (2xx/s)`, value: int(phase.okPerSecond) },
    {
      label: `${multiplier}× 503 OVERLOADED`,
      value: `${int(overloaded)} = ${pct(overloaded, phase.responses)} of answers; other non-2xx ${int(otherNon2xx)}; errors ${int(phase.errors)}`,
    },
    {
      label: `${multiplier}× accepted latency p50 / p95 / p99`,
      value: `${ok.p50} / ${ok.p95} / ${ok.p99} ms (autocannon, corrected for coordinated omission, all answers: p99 ${phase.autocannonLatency.p99} ms)`,
    },
  ];
}

export const overload: Scenario = {
  name: 'overload',
  title: 'Overload: a fixed rate at 2× and 3× the measured capacity',
  description:
    'Measures the order-accept capacity first (closed loop, 2xx/s; or takes `--rate`), then ' +
    'offers a fixed rate of 2× and 3× that (autocannon overallRate, open loop) with the ' +
    'shipped admission limits. Reports goodput (2xx/s), the share answered 503 OVERLOADED ' +
    'and the latency of the accepted requests; each phase starts after the backlog of the ' +
    'one before has drained.',
  defaults: { ...ORIGIN_SIZE, amount: null, warmupS: 0 },
  admission: 'default',
  async run(ctx) {
    const { world } = ctx;
    const keys = new Keys(ctx.runId);
    const requests: Parameters<typeof ctx.runPhase>[0]['requests'] = (recorder) => [
      tracked(recorder, 'order', {
        setupRequest: (request) =>
          submit(
            request,
            '/api/orders',
            pick(world.buyers),
            keys.key('x'),
            oneItem(pick(world.productIds)),
          ),
      }),
    ];
    const phases: PhaseResult[] = [];
    const figures: Figure[] = [];
    let capacity = ctx.size.rate;
    let latencyS = MIN_LATENCY_S;
    if (capacity === null) {
      const measured = await ctx.runPhase({
        name: 'capacity',
        connections: ctx.size.connections,
        amount: ctx.size.amount,
        durationS: ctx.size.durationS ?? CAPACITY_S,
        defaultKind: 'order',
        requests,
      });
      phases.push(measured);
      capacity = measured.okPerSecond;
      latencyS = Math.max(MIN_LATENCY_S, (measured.okLatency.p95 ?? 0) / 1_000);
      figures.push({
        label: 'capacity (closed loop, 2xx/s)',
        value: `${int(capacity)} (p99 ${measured.okLatency.p99} ms)`,
      });
      await drainBetween(ctx, phases);
    } else {
      figures.push({ label: 'capacity (given with --rate)', value: int(capacity) });
    }
    if (capacity < 1) throw new Error('no capacity measured: nothing was accepted');
    for (const multiplier of MULTIPLIERS) {
      const rate = Math.round(capacity * multiplier);
      const connections = Math.min(
        MAX_CONNECTIONS,
        Math.max(ctx.size.connections, Math.ceil(rate * latencyS * HEADROOM)),
      );
      const phase = await ctx.runPhase({
        name: `${multiplier}x`,
        connections,
        amount: ctx.size.amount,
        durationS: ctx.size.durationS ?? RATE_PHASE_S,
        overallRate: rate,
        defaultKind: 'order',
        requests,
      });
      phases.push(phase);
      figures.push(...rateFigures(phase, multiplier));
      await drainBetween(ctx, phases);
    }
    return {
      phases,
      figures,
      checks: [],
      charts: [],
      accepted: {
        orders: acceptedOf(phases, 'order'),
        charges: 0,
      },
    };
  },
};
