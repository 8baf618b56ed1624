import { resourceLine } from './monitor';
import { Keys, oneItem, pick, submit, tracked } from './requests';
import { waitUntilFinal } from './settle';
import { orderCharts, percentiles, summariseFinalisation } from './timings';
import { ORIGIN_SIZE, type PhaseResult, type Scenario } from './types';

/** Longest a drain may take, and how long without progress before it is given up. */
const DRAIN_MAX_MS = 30 * 60_000;
const DRAIN_STALL_MS = 60_000;

const int = (value: number) => Math.round(value).toLocaleString('en-US');

export const drain: Scenario = {
  name: 'drain',
  title: 'Drain: submit a burst of orders, time until every one is final',
  description:
    'Submits N orders (one unit of a random product each; with `--hot`, all of one product) ' +
    'as fast as the connections allow, then waits until every accepted order is PAID or ' +
    'FAILED. Accepted/s comes from the answers; finalised/s from the database’s own ' +
    'timestamps (created_at = accepted, updated_at = final), over the whole run and for the ' +
    'backlog left when submitting ended. These are the "orders finalised per second ≥ 1.0× a ' +
    'raw SQL loop over many products, ≥ 1.5× on one hot product" targets.',
  defaults: { ...ORIGIN_SIZE, amount: 50_000, warmupS: 0 },
  admission: 'raised',
  async run(ctx) {
    const { world } = ctx;
    let productIds = world.productIds;
    if (ctx.size.hot) {
      productIds = await world.addProducts(1);
      ctx.log(`hot: every order is for product ${productIds[0] ?? '?'}`);
    }
    const keys = new Keys(ctx.runId);
    let finalSoFar = 0;
    const poller = setInterval(() => {
      world.finalCounts().then(
        (counts) => {
          finalSoFar = (counts.orders.PAID ?? 0) + (counts.orders.FAILED ?? 0);
        },
        () => undefined,
      );
    }, 1_000);
    let phase: PhaseResult;
    try {
      phase = await ctx.runPhase({
        name: 'submit',
        connections: ctx.size.connections,
        amount: ctx.size.amount,
        durationS: ctx.size.durationS,
        defaultKind: 'order',
        progress: () => `final ${int(finalSoFar)}`,
        requests: (recorder) => [
          tracked(recorder, 'order', {
            setupRequest: (request) =>
              submit(
                request,
                '/api/orders',
                pick(world.buyers),
                keys.key('d'),
                oneItem(pick(productIds)),
              ),
          }),
        ],
      });
    } finally {
      clearInterval(poller);
    }
    const accepted = phase.byKind.order?.statuses['202'] ?? 0;
    const submitEnd = phase.startedAt + phase.durationS * 1_000;
    ctx.log(`${int(accepted)} accepted; waiting until every one is final`);
    let lastLine = 0;
    let previous = 0;
    const settled = await ctx.monitor.span('drain', () =>
      waitUntilFinal(
        world,
        { orders: accepted, charges: 0 },
        {
          stallMs: DRAIN_STALL_MS,
          maxMs: DRAIN_MAX_MS,
          onPoll: (finalOrders) => {
            const now = Date.now();
            if (now - lastLine < 1_000) return;
            const rate = lastLine === 0 ? 0 : ((finalOrders - previous) * 1_000) / (now - lastLine);
            lastLine = now;
            previous = finalOrders;
            ctx.log(
              `drain ${Math.round((now - submitEnd) / 1_000)}s  final ${int(finalOrders)}/${int(accepted)}` +
                `  ${int(rate)}/s  ${resourceLine(ctx.monitor.latest)}`,
            );
          },
        },
      ),
    );
    const timings = await world.orderTimings();
    const s = summariseFinalisation(timings, phase.startedAt, submitEnd);
    const submitS = phase.durationS;
    return {
      phases: [phase],
      figures: [
        { label: 'orders accepted', value: `${int(accepted)} in ${submitS.toFixed(1)} s` },
        {
          label: 'accepted/s (202s / submit time)',
          value: int(accepted / Math.max(submitS, 1e-3)),
        },
        {
          label: 'finalised/s (first submit → last final)',
          value: `${int(s.finalisedPerSecond)} (${int(s.orders)} in ${s.lastFinalS.toFixed(1)} s)`,
        },
        {
          label: 'backlog when submitting ended',
          value: `${int(s.backlogAtSubmitEnd)} orders`,
        },
        {
          label: 'drained/s after submitting ended',
          value:
            s.drainedPerSecond === null
              ? '— (no backlog)'
              : `${int(s.drainedPerSecond)} (${(s.lastFinalS - submitS).toFixed(1)} s to empty)`,
        },
        { label: 'PAID / FAILED', value: `${int(s.paid)} / ${int(s.failed)}` },
        {
          label: 'accept → final p50 / p95 / p99',
          value: percentiles(s.acceptToFinal),
        },
        { label: 'products', value: ctx.size.hot ? '1 (hot)' : int(productIds.length) },
      ],
      checks: [
        {
          name: 'drain completed',
          ok: settled.done,
          detail: `${int(settled.finalOrders)} of ${int(accepted)} final after ${(settled.waitedMs / 1_000).toFixed(1)} s of waiting`,
        },
      ],
      charts: orderCharts(timings, phase.startedAt),
      accepted: { orders: accepted, charges: 0 },
    };
  },
};
