import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { RequestQueues } from '../../shared/queues';
import mysql from 'mysql2/promise';
import { CpuMeter, settle, type CpuUse, type Groups } from './cpu';
import {
  generate,
  type GeneratorName,
  type LoadRun,
  type RunShape,
  type Workload,
} from './generators';

/** A closed-loop run with the CPU every process spent in it. */
export interface CostedRun extends LoadRun {
  /** CPU µs per group (api, workers, redis, mariadb, server, generator) over the run. */
  cpu: CpuUse;
  /** Accepts: the jobs the run added to the kind's queues (its requests came in batches). */
  jobs?: number;
}

/** Accepted work followed to the end: CPU from the first accept until the last one is final. */
export interface EndToEnd {
  name: string;
  generator: GeneratorName;
  accepted: number;
  finalised: number;
  /** Final but not as asked: ON_HOLD (infrastructure) requests, counted apart. */
  onHold: number;
  /** Seconds from the end of the accept run until the last accepted request was final. */
  toFinalS: number;
  /** CPU µs per group from the start of the accepts until the last was final. */
  cpu: CpuUse;
}

const meter = new CpuMeter();

/** CPU µs per unit: the sum of `groups` (every group when omitted) divided by `units`. */
export function perUnit(cpu: CpuUse, units: number, groups?: readonly string[]): number {
  const keys = groups ?? Object.keys(cpu).filter((g) => g !== 'generator');
  const total = keys.reduce((sum, g) => sum + (cpu[g] ?? 0), 0);
  return units > 0 ? total / units : Number.NaN;
}

export async function costedRun(
  generator: GeneratorName,
  name: string,
  workload: Workload,
  shape: RunShape,
  groups: Groups,
): Promise<CostedRun> {
  const stop = meter.start(groups);
  const run = await generate(generator, name, workload, shape);
  return { ...run, cpu: stop() };
}

/**
 * Jobs ever added to these queues: BullMQ counts every add, a batch's or a lone request's, in
 * the queue's `id` key.
 */
async function jobsAdded(queues: readonly Queue[]): Promise<number> {
  let total = 0;
  for (const queue of queues) {
    const client = await queue.backend.client;
    total += Number((await client.get(queue.keys.id as string)) ?? 0);
  }
  return total;
}

/** {@link costedRun} of accepts, with the jobs they were enqueued in. */
async function costedAccepts(
  generator: GeneratorName,
  name: string,
  workload: Workload,
  shape: RunShape,
  groups: Groups,
  queues: readonly Queue[],
): Promise<CostedRun> {
  const before = await jobsAdded(queues);
  const run = await costedRun(generator, name, workload, shape, groups);
  return { ...run, jobs: (await jobsAdded(queues)) - before };
}

async function queueIdle(queue: Queue): Promise<boolean> {
  const c = await queue.getJobCounts('wait', 'active', 'prioritized');
  return (c.wait ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0) === 0;
}

type Table = 'orders' | 'charges';

async function counts(
  databaseUrl: string,
  table: Table,
): Promise<{ final: number; onHold: number }> {
  const connection = await mysql.createConnection({ uri: databaseUrl });
  try {
    const finalStates = table === 'orders' ? "'PAID','FAILED','CANCELLED'" : "'COMPLETED','FAILED'";
    const [rows] = await connection.query<mysql.RowDataPacket[]>(
      `SELECT SUM(status IN (${finalStates})) AS final, SUM(status = 'ON_HOLD') AS onHold FROM ${table}`,
    );
    return { final: Number(rows[0]?.final ?? 0), onHold: Number(rows[0]?.onHold ?? 0) };
  } finally {
    await connection.end();
  }
}

/** The kind's request queues (every partition) and the events queue: idle once all is final. */
function queuesOf(table: Table, queues: RequestQueues): { requests: Queue[]; all: Queue[] } {
  const requests = queues[table].partitions.map((p) => p.queue as Queue);
  return { requests, all: [...requests, queues.events as Queue] };
}

/**
 * Waits, with a progress line, until the kind's queues are idle and at least `accepted`
 * requests have their final row beyond `before`; answers the counts then. Queues are polled,
 * not the database: a count over the growing tables would itself cost MariaDB CPU and be
 * billed to the system.
 */
async function untilFinal(
  name: string,
  table: Table,
  system: { databaseUrl: string; queues: RequestQueues },
  before: { final: number; onHold: number },
  accepted: number,
  timeoutMs: number,
): Promise<{ final: number; onHold: number }> {
  const { requests, all } = queuesOf(table, system.queues);
  const deadline = Date.now() + timeoutMs;
  let lastProgress = '';
  for (;;) {
    if ((await Promise.all(all.map(queueIdle))).every(Boolean)) {
      const after = await counts(system.databaseUrl, table);
      if (after.final + after.onHold - before.final - before.onHold >= accepted) return after;
    }
    if (Date.now() > deadline) throw new Error(`${name}: not final within ${timeoutMs} ms`);
    const perQueue = await Promise.all(requests.map((q) => q.getJobCounts('wait', 'active')));
    const sum = (state: string) => perQueue.reduce((n, c) => n + (c[state] ?? 0), 0);
    const line = `\r   jobs waiting ${sum('wait')}, active ${sum('active')}   `;
    if (line !== lastProgress) process.stderr.write(line);
    lastProgress = line;
    await sleep(200);
  }
}

/**
 * Accepts (orders or charges) through the API with the workers running, then waits until the
 * kind's queues (every partition) and the events queue are idle and every accepted request has
 * its final row; CPU of every process from the first accept to the last final row. `queues`
 * are the caller's (opened on the system's key layout) and stay open.
 */
export async function acceptToFinal(
  generator: GeneratorName,
  name: string,
  workload: Workload & { kind: 'order' | 'charge' },
  shape: RunShape,
  groups: Groups,
  system: { databaseUrl: string; queues: RequestQueues },
  timeoutMs = 600_000,
): Promise<{ run: CostedRun; endToEnd: EndToEnd }> {
  const table: Table = workload.kind === 'order' ? 'orders' : 'charges';
  const before = await counts(system.databaseUrl, table);
  await settle([...(groups.mariadb ?? []), ...(groups.redis ?? [])]);
  const stopAll = meter.start(groups);
  const { requests } = queuesOf(table, system.queues);
  const run = await costedAccepts(generator, name, workload, shape, groups, requests);
  const acceptsEnded = performance.now();
  const after = await untilFinal(name, table, system, before, run.ok, timeoutMs);
  const toFinalS = (performance.now() - acceptsEnded) / 1_000;
  const cpu = stopAll();
  process.stderr.write(
    `\r   final ${run.ok} / ${run.ok} in ${toFinalS.toFixed(1)} s after the last accept\n`,
  );
  return {
    run,
    endToEnd: {
      name,
      generator,
      accepted: run.ok,
      finalised: after.final - before.final,
      onHold: after.onHold - before.onHold,
      toFinalS,
      cpu,
    },
  };
}

/**
 * Order accepts through the API while no worker runs: the API's CPU per accept with the machine
 * to itself, as the Express baseline has it. A warm-up first (the first generator, not
 * counted), then one pass per name, each a costed run per generator, with `between` run
 * between passes (the baseline again: each pass is then next to a baseline run). Then
 * `startWorkers`, and waits until every accepted order is final, so the runs after begin with
 * empty queues.
 */
export async function acceptsAlone(
  passes: readonly string[],
  generators: readonly GeneratorName[],
  workload: (tag: string) => Workload & { kind: 'order' },
  shapes: { run: RunShape; warmUp: RunShape },
  groups: Groups,
  system: { databaseUrl: string; queues: RequestQueues },
  hooks: { between: () => Promise<void>; startWorkers: () => Promise<void> },
  timeoutMs = 600_000,
): Promise<CostedRun[]> {
  const before = await counts(system.databaseUrl, 'orders');
  const { requests } = queuesOf('orders', system.queues);
  const first = generators[0] ?? 'autocannon';
  const warm = await generate(first, 'accepts (warm-up)', workload('warm-up'), shapes.warmUp);
  const runs: CostedRun[] = [];
  for (const [i, name] of passes.entries()) {
    if (i > 0) await hooks.between();
    for (const g of generators) {
      await settle([...(groups.redis ?? [])]);
      runs.push(await costedAccepts(g, name, workload(`${g}-${i}`), shapes.run, groups, requests));
    }
  }
  const accepted = warm.ok + runs.reduce((n, r) => n + r.ok, 0);
  process.stderr.write(`   ${accepted} orders queued; the workers start and finalise them\n`);
  await hooks.startWorkers();
  await untilFinal('accepts alone', 'orders', system, before, accepted, timeoutMs);
  process.stderr.write(`\r   all ${accepted} final\n`);
  return runs;
}
