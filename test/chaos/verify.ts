import type { Clients, OrderRecord } from './clients';
import type { FailoverFigures } from './failover';
import type { ChaosRows } from './rows';
import type { LogLine } from '../harness/process';
import {
  acceptLatency,
  acceptRate,
  answersByKind,
  outageAnswers,
  recovery,
  type OutageAnswers,
  type Recovery,
} from './metrics';
import type { ScenarioSpec } from './scenarios';

/** When the fault phase began and ended (epoch ms); worker kills have no restore. */
export interface FaultWindow {
  startedAt: number;
  endedAt: number;
  cutAt?: number;
  restoreAt?: number;
  kills?: number;
  /** A restarted server (db-crash): from its start to accepting connections (crash recovery). */
  restartMs?: number;
}

export interface OrderCounts {
  /** Orders the clients started (one Idempotency-Key each). */
  submitted: number;
  /** Keys answered 202. */
  accepted: number;
  paid: number;
  failed: number;
  onHold: number;
  /** Orders their clients cancelled (the cancellation accepted) that ended CANCELLED. */
  cancelled: number;
  /** Accepted, yet neither final nor ON_HOLD by the end of the drain. */
  lost: number;
  /** Never accepted: their clients retried until their give-up time. */
  gaveUp: number;
  /** Ids whose status named an earlier order of the same key (the database's backstop). */
  aliased: number;
  /** Answered with a 4xx other than 429: a valid order refused. */
  refused: number;
  /** Asked for by the rate while every client slot was busy retrying. */
  notStarted: number;
  /** 202s per second before the fault, and their latency. */
  acceptedPerSecondBefore: number;
  acceptLatencyBefore: { p50Ms: number | null; p95Ms: number | null };
  /** Orders paid per second before the fault and during it, per the database. */
  paidPerSecondBefore: number;
  paidPerSecondDuringFault: number;
}

export interface Invariants {
  reconcileOk: boolean;
  reconcileOutput: string;
  /**
   * Users whose balance is not their funding minus the orders their clients saw PAID (and, where
   * losses are measured, minus the lost orders the database has PAID).
   */
  balanceMismatches: number;
  /** Orders whose final status (as clients saw it) the database contradicts. */
  statusMismatches: number;
  examples: string[];
}

export interface ScenarioResult {
  name: string;
  title: string;
  passed: boolean;
  failures: string[];
  settings: Record<string, string | number | boolean>;
  durationMs: number;
  orders: OrderCounts;
  invariants: Invariants | null;
  fault: {
    cutAt: string | null;
    restoreAt: string | null;
    kills: number | null;
    restartMs: number | null;
  };
  failFast: { submit: OutageAnswers; probe: OutageAnswers } | null;
  /** A Redis Cluster master killed: the timeline and what was lost. */
  failover: FailoverFigures | null;
  recovery: Recovery | null;
  dbStatusCounts: Record<string, number>;
  answers: Record<string, Record<string, number>>;
  /** The processes' most frequent warnings and errors. */
  problems: Record<string, number>;
  /**
   * Some accepted orders never seen final: what their client last saw and did, and what the
   * database holds, so a failure says which side lost track.
   */
  lostExamples: LostExample[];
  /** System processes that died without the scenario killing them (crash or outside kill). */
  unexpectedExits: string[];
  error: string | null;
}

export interface LostExample {
  key: string;
  id: string | undefined;
  lastStatus: string | undefined;
  /** The HTTP status of its last poll's answer (0: none). */
  lastPollAnswer: number | undefined;
  /** Its client's cancellation, if sent: early or late, tries, whether a 202 accepted it. */
  cancel?: { when: 'early' | 'late'; tries: number; accepted: boolean };
  /** The order's row: its status, or null when there is none. */
  row: string | null;
  /** The outcomes of its cancellations recorded in the database. */
  cancellations: string[];
  /** The first warnings and errors that name its id: `level: message (error)`. */
  logged: string[];
}

/** Up to five accepted orders their clients never saw final, with what the database holds. */
async function lostExamples(
  clients: Clients,
  db: ChaosRows,
  problemLines: readonly LogLine[],
): Promise<LostExample[]> {
  const lost = clients.orders
    .filter((o) => o.id !== undefined && o.resolvedAt === undefined)
    .slice(0, 5);
  const ids = lost.map((o) => o.id ?? '');
  const rows = await db.orders(ids);
  const cancellations = await db.cancellationOutcomes(ids);
  return lost.map((o) => ({
    key: o.key,
    id: o.id,
    lastStatus: o.status,
    lastPollAnswer: o.lastPollAnswer,
    ...(o.cancel?.started
      ? {
          cancel: {
            when: o.cancel.when,
            tries: o.cancel.tries,
            accepted: o.cancel.accepted === true,
          },
        }
      : {}),
    row: rows.get(o.id ?? '')?.status ?? null,
    cancellations: cancellations.get(o.id ?? '') ?? [],
    logged: naming(problemLines, o.id ?? ''),
  }));
}

/** Up to three of the lines whose fields mention `id` (its own, or an error about it). */
function naming(lines: readonly LogLine[], id: string): string[] {
  if (id === '') return [];
  return lines
    .filter((line) => JSON.stringify(line).includes(id))
    .slice(0, 3)
    .map((line) => {
      const error = typeof line.error === 'string' ? ` (${line.error})` : '';
      return `${String(line.level)}: ${String(line.message)}${error}`;
    });
}

async function countOrders(
  clients: Clients,
  db: ChaosRows,
  spec: ScenarioSpec,
  fault: FaultWindow,
): Promise<OrderCounts> {
  const orders = clients.orders;
  const accepted = orders.filter((o) => o.id !== undefined);
  const cutAt = fault.cutAt ?? fault.startedAt;
  const perSecond = (n: number, ms: number) => (ms > 0 ? Math.round((n * 1_000) / ms) : 0);
  return {
    submitted: orders.length,
    accepted: accepted.length,
    paid: accepted.filter((o) => o.status === 'PAID').length,
    failed: accepted.filter((o) => o.status === 'FAILED').length,
    onHold: accepted.filter((o) => o.status === 'ON_HOLD').length,
    cancelled: accepted.filter((o) => o.status === 'CANCELLED').length,
    lost: accepted.filter((o) => o.resolvedAt === undefined).length,
    gaveUp: orders.filter((o) => o.gaveUp === true).length,
    aliased: orders.filter((o) => o.resolvedAs !== undefined).length,
    refused: orders.filter((o) => o.refusedWith !== undefined).length,
    notStarted: clients.notStarted,
    acceptedPerSecondBefore: acceptRate(clients.samples, cutAt - spec.warmMs, cutAt),
    acceptLatencyBefore: acceptLatency(clients.samples, cutAt - spec.warmMs, cutAt),
    paidPerSecondBefore: perSecond(await db.paidBetween(cutAt - spec.warmMs, cutAt), spec.warmMs),
    paidPerSecondDuringFault: perSecond(
      await db.paidBetween(fault.startedAt, fault.endedAt),
      fault.endedAt - fault.startedAt,
    ),
  };
}

/**
 * Compares what the clients were told with what the database holds. Where losses are measured,
 * an order lost yet applied (its client never told) is spent all the same: what must still hold
 * is that nothing else moved the balance.
 */
async function checkAgainstDatabase(
  clients: Clients,
  db: ChaosRows,
  lossMeasured: boolean,
): Promise<Omit<Invariants, 'reconcileOk' | 'reconcileOutput'>> {
  const examples: string[] = [];
  const accepted = clients.orders.filter(
    (o): o is OrderRecord & { id: string } => o.id !== undefined,
  );
  const rows = await db.orders(accepted.map((o) => o.resolvedAs ?? o.id));
  let statusMismatches = 0;
  for (const order of accepted) {
    if (order.resolvedAt === undefined) continue;
    const row = rows.get(order.resolvedAs ?? order.id);
    // ON_HOLD rows are best effort; what must never happen is an outcome contradicting them.
    const contradicts =
      order.status === 'ON_HOLD'
        ? row !== undefined && row.status !== 'ON_HOLD'
        : row?.status !== order.status;
    if (contradicts) {
      statusMismatches += 1;
      if (examples.length < 5) {
        examples.push(`order ${order.id}: client saw ${order.status}, database ${row?.status}`);
      }
    }
  }
  const spent = new Map<number, number>();
  for (const order of accepted) {
    const row = rows.get(order.resolvedAs ?? order.id);
    const amount =
      order.status === 'PAID'
        ? (order.totalAmount ?? 0)
        : lossMeasured && order.resolvedAt === undefined && row?.status === 'PAID'
          ? (row.totalAmount ?? 0)
          : 0;
    if (amount > 0) spent.set(order.userId, (spent.get(order.userId) ?? 0) + amount);
  }
  const balances = await db.balances();
  let balanceMismatches = 0;
  for (const [userId, funded] of clients.funded) {
    const expected = funded - (spent.get(userId) ?? 0);
    const actual = balances.get(userId) ?? 0;
    if (actual !== expected) {
      balanceMismatches += 1;
      if (examples.length < 10) {
        examples.push(`user ${userId}: balance ${actual}, clients expect ${expected}`);
      }
    }
  }
  return { balanceMismatches, statusMismatches, examples };
}

function failuresOf(spec: ScenarioSpec, orders: OrderCounts, inv: Invariants): string[] {
  const failures: string[] = [];
  if (orders.lost > 0 && spec.lossMeasured !== true) {
    failures.push(`${orders.lost} accepted orders never became final`);
  }
  if (!inv.reconcileOk) failures.push('reconcile found broken invariants');
  if (inv.balanceMismatches > 0) {
    failures.push(`${inv.balanceMismatches} balances differ from what clients were told`);
  }
  if (inv.statusMismatches > 0) {
    failures.push(`${inv.statusMismatches} order statuses contradict the database`);
  }
  if (orders.refused > 0) failures.push(`${orders.refused} valid orders refused with a 4xx`);
  if (spec.onHoldFails && orders.onHold > 0) {
    failures.push(`${orders.onHold} orders put ON_HOLD during a database outage`);
  }
  return failures;
}

/** The scenario's verdict, from the clients' records, the database and reconcile. */
export async function verify(input: {
  spec: ScenarioSpec;
  clients: Clients;
  db: ChaosRows;
  fault: FaultWindow;
  settings: ScenarioResult['settings'];
  startedAt: number;
  problems: Record<string, number>;
  problemLines: readonly LogLine[];
  unexpectedExits: string[];
}): Promise<ScenarioResult> {
  const { spec, clients, db, fault } = input;
  const orders = await countOrders(clients, db, spec, fault);
  const reconciled = await db.reconcile();
  const invariants: Invariants = {
    reconcileOk: reconciled.ok,
    reconcileOutput: reconciled.output.slice(0, 4_000),
    ...(await checkAgainstDatabase(clients, db, spec.lossMeasured === true)),
  };
  const { cutAt, restoreAt } = fault;
  const outage = cutAt !== undefined && restoreAt !== undefined;
  const failures = failuresOf(spec, orders, invariants);
  const back = outage
    ? recovery(clients.samples, clients.orders, restoreAt, await db.firstPaidSince(restoreAt))
    : null;
  if (back !== null && back.newOrderPaidMs === null) {
    failures.push('no order accepted after the restore was paid');
  }
  if (input.unexpectedExits.length > 0) {
    failures.push(`processes died unasked: ${input.unexpectedExits.join(', ')}`);
  }
  return {
    name: spec.name,
    title: spec.title,
    passed: failures.length === 0,
    failures,
    settings: input.settings,
    durationMs: Date.now() - input.startedAt,
    orders,
    invariants,
    fault: {
      cutAt: cutAt === undefined ? null : new Date(cutAt).toISOString(),
      restoreAt: restoreAt === undefined ? null : new Date(restoreAt).toISOString(),
      kills: fault.kills ?? null,
      restartMs: fault.restartMs ?? null,
    },
    failFast: outage
      ? {
          submit: outageAnswers(clients.samples, 'submit', cutAt, restoreAt),
          probe: outageAnswers(clients.samples, 'probe', cutAt, restoreAt),
        }
      : null,
    recovery: back,
    failover: null,
    dbStatusCounts: await db.statusCounts(),
    answers: answersByKind(clients.samples),
    problems: Object.fromEntries(Object.entries(input.problems).slice(0, 15)),
    lostExamples: await lostExamples(clients, db, input.problemLines),
    unexpectedExits: input.unexpectedExits,
    error: null,
  };
}
