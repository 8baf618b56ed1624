import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Sequelize } from 'sequelize';
import { REPLICA_STATES, type CatalogSource } from './db/catalog-source';
import type { BreakerState, DbBreaker } from './resilience/breaker';
import { earliestDelayedDue } from './queues/delayed';

/**
 * The Prometheus series both processes expose. Names follow Prometheus conventions (base units,
 * `_total` for counters); every series carries `service` (api | workers). Each process has its
 * own registry, so tests can build several in one process.
 */
export function createMetrics(service: 'api' | 'workers') {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const metrics = {
    registry,
    httpDuration: new Histogram({
      name: 'shop_http_request_duration_seconds',
      help: 'HTTP request duration by route template and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    admissionRejections: new Counter({
      name: 'shop_admission_rejections_total',
      help: 'Accepts refused with 503 OVERLOADED, by queue and reason (backlog | lag)',
      labelNames: ['queue', 'reason'] as const,
      registers,
    }),
    cancellations: new Counter({
      name: 'shop_order_cancellations_total',
      help: 'Cancellations a worker applied, by what they found: refunded (a PAID order), never_applied (marked before the order was applied), already_cancelled, order_failed',
      labelNames: ['result'] as const,
      registers,
    }),
    refundedAmount: new Counter({
      name: 'shop_order_refunded_amount_total',
      help: 'Money refunded to balances by cancellations of PAID orders',
      registers,
    }),
    rateLimitRefusals: new Counter({
      name: 'shop_rate_limit_refusals_total',
      help: 'Accepts refused with 429 RATE_LIMITED (RATE_LIMIT_PER_MINUTE), by queue',
      labelNames: ['queue'] as const,
      registers,
    }),
    replicaAckFailures: new Counter({
      name: 'shop_redis_replica_ack_failures_total',
      help:
        'Accept batches answered 503 because fewer than REDIS_MIN_REPLICAS_ACK Redis replicas ' +
        'acknowledged their writes in REDIS_REPLICA_ACK_TIMEOUT_MS (API; 0 without the setting)',
      registers,
    }),
    backlogRequests: new Gauge({
      name: 'shop_queue_backlog_requests',
      help:
        'Requests waiting per queue as admission control counts them (API): waiting jobs x the ' +
        'requests per job this process has been enqueueing (a job carries 1 to 64 accepts)',
      labelNames: ['queue'] as const,
      registers,
    }),
    jobDuration: new Histogram({
      name: 'shop_job_duration_seconds',
      help: 'Time a worker spent on one job attempt, by queue and outcome',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 15],
      registers,
    }),
    acceptToFinal: new Histogram({
      name: 'shop_accept_to_final_seconds',
      help: 'From the 202 to the final state (PAID, COMPLETED, FAILED), by queue and status',
      labelNames: ['queue', 'status'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    topSellersRefresh: new Histogram({
      name: 'shop_top_sellers_refresh_seconds',
      help:
        "Time one refresh of the top-sellers ranking took (the worker holding that period's " +
        'lock): it reads every order PAID in the last 72 h, so it grows with them',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30],
      registers,
    }),
    orderBatchSize: new Histogram({
      name: 'shop_order_batch_size',
      help: 'Orders applied per group-commit transaction (1 under light load)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    orderBatchFallbacks: new Counter({
      name: 'shop_order_batch_fallbacks_total',
      help:
        'Order transactions rolled back instead of committed, by cause: duplicate (an order ' +
        'was already recorded; it takes the recorded outcome, the rest are applied again ' +
        'together) or error (any other failure but an outage; each order is applied alone)',
      labelNames: ['cause'] as const,
      registers,
    }),
    jobsFinished: new Counter({
      name: 'shop_jobs_finished_total',
      help: 'Requests that reached a final state, by queue, status and failure code',
      labelNames: ['queue', 'status', 'failure_code'] as const,
      registers,
    }),
    jobsOnHold: new Counter({
      name: 'shop_jobs_on_hold_total',
      help: 'Requests put ON_HOLD after their last attempt failed',
      labelNames: ['queue'] as const,
      registers,
    }),
    jobsDeferred: new Counter({
      name: 'shop_jobs_deferred_total',
      help: 'Jobs put back to waiting because the database was unavailable (attempts untouched)',
      labelNames: ['queue'] as const,
      registers,
    }),
    eventsRecorded: new Counter({
      name: 'shop_events_recorded_total',
      help: 'Order events committed to the outbox by the order worker',
      registers,
    }),
    eventsDelivered: new Counter({
      name: 'shop_events_delivered_total',
      help: 'Order events the data platform acknowledged (2xx)',
      registers,
    }),
    eventsRetried: new Counter({
      name: 'shop_events_retried_total',
      help: 'Delivery attempts that failed and will be retried (non-2xx, timeout, no connection)',
      registers,
    }),
    eventsDead: new Counter({
      name: 'shop_events_dead_total',
      help: 'Order events that used up their attempts (DEAD until ops replay-events)',
      registers,
    }),
    eventDelivery: new Histogram({
      name: 'shop_event_delivery_seconds',
      help: 'From the order being paid (occurredAt) to the data platform acknowledging its event',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 1_800, 3_600, 21_600, 86_400],
      registers,
    }),
  };
  // Counters start at zero for every queue they describe, so alert rules and dashboards see
  // the series (and rate() works) before the first event.
  for (const queue of ['charges', 'orders', 'cancellations']) {
    metrics.jobsOnHold.inc({ queue }, 0);
    metrics.jobsDeferred.inc({ queue }, 0);
    for (const reason of ['backlog', 'lag']) metrics.admissionRejections.inc({ queue, reason }, 0);
    metrics.rateLimitRefusals.inc({ queue }, 0);
  }
  for (const cause of ['duplicate', 'error']) metrics.orderBatchFallbacks.inc({ cause }, 0);
  for (const result of CANCELLATION_RESULTS) metrics.cancellations.inc({ result }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What an applied cancellation found: the `result` label of shop_order_cancellations_total. */
export const CANCELLATION_RESULTS = [
  'refunded',
  'never_applied',
  'already_cancelled',
  'order_failed',
] as const;

export type CancellationResult = (typeof CANCELLATION_RESULTS)[number];

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/**
 * shop_breaker_state (0 closed, 1 half-open, 2 open), shop_breaker_transitions_total and
 * shop_breaker_calls_total{outcome}: what each call did to the breaker (a worker's call is one
 * job, however many requests it carries).
 */
export function observeBreaker(metrics: Metrics, name: string, breaker: DbBreaker): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'shop_breaker_state',
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: ['breaker'] as const,
    registers,
    collect() {
      this.set({ breaker: name }, BREAKER_VALUE[breaker.state]);
    },
  });
  const transitions = new Counter({
    name: 'shop_breaker_transitions_total',
    help: 'Circuit breaker state changes, by the state entered',
    labelNames: ['breaker', 'state'] as const,
    registers,
  });
  for (const state of Object.keys(BREAKER_VALUE)) transitions.inc({ breaker: name, state }, 0);
  breaker.onChange((next) => {
    transitions.inc({ breaker: name, state: next });
  });
  const calls = new Counter({
    name: 'shop_breaker_calls_total',
    help:
      'Calls through a circuit breaker by outcome: failure (an outage or a timeout, counted ' +
      'against it), rejected (refused while open), success (anything else)',
    labelNames: ['breaker', 'outcome'] as const,
    registers,
  });
  for (const outcome of ['success', 'failure', 'rejected'])
    calls.inc({ breaker: name, outcome }, 0);
  breaker.onCall((outcome) => {
    calls.inc({ breaker: name, outcome });
  });
}

/** shop_db_pool_connections{state=in_use|idle|waiting|max}, read at scrape time. */
export function observePool(metrics: Metrics, sequelize: Sequelize, max: number): void {
  const pool = () =>
    (
      sequelize.connectionManager as unknown as {
        pool?: { using: number; available: number; waiting: number };
      }
    ).pool;
  new Gauge({
    name: 'shop_db_pool_connections',
    help: 'Database pool connections by state (in_use, idle, waiting requests, max)',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    collect() {
      const p = pool();
      this.set({ state: 'in_use' }, p?.using ?? 0);
      this.set({ state: 'idle' }, p?.available ?? 0);
      this.set({ state: 'waiting' }, p?.waiting ?? 0);
      this.set({ state: 'max' }, max);
    },
  });
}

/**
 * Where the catalog's database reads go: shop_catalog_reads_total{source}, and the read
 * replica's shop_db_replica_lag_seconds and shop_db_replica_state{state}. Every process
 * exports all three, with or without a replica, so rules see the series from the start.
 */
export function observeCatalogSource(metrics: Metrics, source: CatalogSource): void {
  const registers = [metrics.registry];
  const reads = new Counter({
    name: 'shop_catalog_reads_total',
    help:
      'Catalog reads that reached a database (cache misses, change-feed polls, top-seller ' +
      'rankings), by the source that answered: replica or primary',
    labelNames: ['source'] as const,
    registers,
  });
  for (const name of ['replica', 'primary']) reads.inc({ source: name }, 0);
  source.onRead((name) => {
    reads.inc({ source: name });
  });
  new Gauge({
    name: 'shop_db_replica_lag_seconds',
    help:
      "The read replica's replication lag as last measured (Seconds_Behind_Master); -1 when " +
      'unknown: no replica configured, unreachable, or replication stopped or broken',
    registers,
    collect() {
      this.set(source.lagS ?? -1);
    },
  });
  new Gauge({
    name: 'shop_db_replica_state',
    help:
      'The read replica, one series per state with 1 on the current one: none (not ' +
      'configured), serving (catalog reads go to it), lagging (lag at or over ' +
      'REPLICA_MAX_LAG_S), unavailable (unreachable, replication stopped or broken, breaker ' +
      'open); catalog reads go to the primary unless serving',
    labelNames: ['state'] as const,
    registers,
    collect() {
      for (const state of REPLICA_STATES) this.set({ state }, state === source.state ? 1 : 0);
    },
  });
}

const QUEUE_STATES = ['wait', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

/** A queue as metrics see it: its name (the `queue` label) and its partition. */
export interface ObservedQueue {
  queue: Queue;
  /** `p0`, `p1`, … (`previous:p0` … while re-partitioning); `all` for an unpartitioned queue. */
  partition: string;
}

/**
 * The queue gauges, read from Redis at scrape time: jobs per queue and state summed over the
 * partitions (shop_queue_jobs), the oldest waiting job of any partition
 * (shop_queue_oldest_waiting_age_seconds), how long ago the earliest delayed job of any
 * partition fell due without being moved to the wait list (shop_queue_delayed_overdue_seconds:
 * only a working worker moves them), and the backlog of each partition
 * (shop_queue_partition_backlog_jobs: waiting + delayed + prioritized jobs), which shows a
 * partition falling behind the others.
 */
export function observeQueues(metrics: Metrics, queues: readonly ObservedQueue[]): void {
  const registers = [metrics.registry];
  const partitionBacklog = new Gauge({
    name: 'shop_queue_partition_backlog_jobs',
    help: 'Jobs waiting (waiting + delayed + prioritized) per queue and partition',
    labelNames: ['queue', 'partition'] as const,
    registers,
  });
  new Gauge({
    name: 'shop_queue_jobs',
    help: 'Jobs per queue and state, over every partition (failed jobs are the ON_HOLD ones)',
    labelNames: ['queue', 'state'] as const,
    registers,
    async collect() {
      const sums = new Map<string, Map<string, number>>();
      await Promise.all(
        queues.map(async ({ queue, partition }) => {
          const counts = await queue.getJobCounts(...QUEUE_STATES).catch(() => undefined);
          if (!counts) return;
          const sum = sums.get(queue.name) ?? new Map<string, number>();
          sums.set(queue.name, sum);
          for (const state of QUEUE_STATES)
            sum.set(state, (sum.get(state) ?? 0) + (counts[state] ?? 0));
          partitionBacklog.set(
            { queue: queue.name, partition },
            (counts.wait ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
          );
        }),
      );
      for (const [queue, sum] of sums) {
        for (const [state, count] of sum) this.set({ queue, state }, count);
      }
    },
  });
  /**
   * A gauge's `collect` per queue: the largest age, in seconds, over its partitions of the
   * moment `since` reads (null: none, age 0). A partition that cannot be read is left out; a
   * queue none of whose partitions could be read keeps its last value.
   */
  const ages = (since: (queue: Queue) => Promise<number | null>) =>
    async function collect(this: Gauge<'queue'>): Promise<void> {
      const oldest = new Map<string, number>();
      await Promise.all(
        queues.map(async ({ queue }) => {
          const at = await since(queue).catch(() => undefined);
          if (at === undefined) return;
          const age = at === null ? 0 : Math.max(0, (Date.now() - at) / 1_000);
          oldest.set(queue.name, Math.max(oldest.get(queue.name) ?? 0, age));
        }),
      );
      for (const [queue, age] of oldest) this.set({ queue }, age);
    };
  new Gauge({
    name: 'shop_queue_delayed_overdue_seconds',
    help: 'How long ago the earliest delayed job (a retry after a backoff) fell due while still delayed, per queue over every partition (0 when none is due)',
    labelNames: ['queue'] as const,
    registers,
    collect: ages(earliestDelayedDue),
  });
  new Gauge({
    name: 'shop_queue_oldest_waiting_age_seconds',
    help: 'Age of the oldest job still waiting, per queue over every partition (0 when none)',
    labelNames: ['queue'] as const,
    registers,
    collect: ages(async (queue) => {
      const [job] = await queue.getJobs(['wait'], 0, 0, true);
      return job ? job.timestamp : null;
    }),
  });
}

/**
 * A gauge read at scrape time waits this long for the database or Redis; past it the gauge
 * keeps its last value. A hanging dependency must not make the whole scrape time out: the
 * process would look down (`up == 0`) while it works.
 */
const SCRAPE_READ_TIMEOUT_MS = 1_000;

/** The value of `read`, or undefined if it fails or takes longer than `ms`. */
function readWithin<T>(read: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    read,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        resolve(undefined);
      }, ms);
      timer.unref();
    }),
  ])
    .catch(() => undefined)
    .finally(() => {
      clearTimeout(timer);
    });
}

/**
 * shop_outbox_lag_seconds: age of the oldest PENDING order event (0 when none), read at scrape
 * time with one index lookup on order_events (status, occurred_at). A failed or slow read
 * keeps the last value: the database being down has its own signals.
 */
export function observeOutboxLag(
  metrics: Metrics,
  oldestPending: () => Promise<Date | null>,
): void {
  new Gauge({
    name: 'shop_outbox_lag_seconds',
    help: 'Age of the oldest order event not yet delivered to the data platform (0 when none)',
    registers: [metrics.registry],
    async collect() {
      const oldest = await readWithin(oldestPending(), SCRAPE_READ_TIMEOUT_MS);
      if (oldest === undefined) return;
      this.set(oldest === null ? 0 : Math.max(0, (Date.now() - oldest.getTime()) / 1_000));
    },
  });
}

/** The values of the latest completed reconcile that the reconcile gauges show. */
export interface ReconcileGaugeValues {
  /** Unix ms. */
  startedAt: number;
  /** Unix ms. */
  completedAt: number;
  /** Rows drifting per check. */
  drift: Readonly<Record<string, number>>;
  /** Stuck requests per kind. */
  stuck: Readonly<Record<string, number>>;
}

/**
 * shop_reconcile_drift{check}, shop_reconcile_last_run_timestamp_seconds,
 * shop_reconcile_duration_seconds and shop_requests_stuck{kind}, read at scrape time from the latest completed reconcile, wherever
 * it ran: every worker process shows the same values. Before the first, every check and kind
 * reads 0 and the timestamp 0. A failed read keeps the last values.
 */
export function observeReconcile(
  metrics: Metrics,
  options: {
    checks: readonly string[];
    kinds: readonly string[];
    latest(): Promise<ReconcileGaugeValues | null>;
  },
): void {
  const registers = [metrics.registry];
  // One read serves the four gauges of a scrape.
  let reading: { at: number; values: Promise<ReconcileGaugeValues | null | undefined> } | null =
    null;
  const read = () => {
    if (reading && Date.now() - reading.at < SCRAPE_READ_TIMEOUT_MS) return reading.values;
    const values = readWithin(options.latest(), SCRAPE_READ_TIMEOUT_MS);
    reading = { at: Date.now(), values };
    return values;
  };
  const drift = new Gauge({
    name: 'shop_reconcile_drift',
    help: 'Rows drifting per invariant check in the last completed reconcile (0 = holds)',
    labelNames: ['check'] as const,
    registers,
    async collect() {
      const latest = await read();
      if (latest === undefined) return;
      const names = new Set([...options.checks, ...Object.keys(latest?.drift ?? {})]);
      for (const check of names) this.set({ check }, latest?.drift[check] ?? 0);
    },
  });
  const lastRun = new Gauge({
    name: 'shop_reconcile_last_run_timestamp_seconds',
    help: 'Unix time the last reconcile completed (0 before the first)',
    registers,
    async collect() {
      const latest = await read();
      if (latest === undefined) return;
      this.set(latest ? latest.completedAt / 1_000 : 0);
    },
  });
  const duration = new Gauge({
    name: 'shop_reconcile_duration_seconds',
    help:
      'How long the last completed reconcile took (0 before the first): a full run scans the ' +
      'whole history, so it grows with it',
    registers,
    async collect() {
      const latest = await read();
      if (latest === undefined) return;
      this.set(latest ? (latest.completedAt - latest.startedAt) / 1_000 : 0);
    },
  });
  const stuck = new Gauge({
    name: 'shop_requests_stuck',
    help:
      'Accepted requests not final, not ON_HOLD and not final in the database STUCK_AFTER_S ' +
      'after their accept, per kind, in the last completed reconcile',
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      const latest = await read();
      if (latest === undefined) return;
      for (const kind of options.kinds) this.set({ kind }, latest?.stuck[kind] ?? 0);
    },
  });
  // The series exist from the start, so alert rules see them before the first report.
  for (const check of options.checks) drift.set({ check }, 0);
  lastRun.set(0);
  duration.set(0);
  for (const kind of options.kinds) stuck.set({ kind }, 0);
}

/** The operator's catalog writes (`/admin/products`), each by how it ended. */
export const PRODUCT_ADMIN_OPERATIONS = ['create', 'update', 'restock'] as const;
export type ProductAdminOperation = (typeof PRODUCT_ADMIN_OPERATIONS)[number];

/**
 * How an operator's write ended: `applied` (written now), `replayed` (a restock's key used
 * before for the same request: the first answer again), `not_found`, `refused` (the key reused
 * for another request, or a restock past the stock limit). Input refused by validation never
 * reaches the use-case and is counted by shop_http_request_duration_seconds alone.
 */
export const PRODUCT_ADMIN_OUTCOMES = ['applied', 'replayed', 'not_found', 'refused'] as const;
export type ProductAdminOutcome = (typeof PRODUCT_ADMIN_OUTCOMES)[number];

/**
 * Product administration (API): shop_product_admin_writes_total{operation, outcome},
 * shop_product_restocks_total (restocks applied through the API, replays not counted) and
 * shop_product_restocked_units_total (their units). Restocks made in SQL are not seen here;
 * `ops reconcile` counts both.
 */
export function observeProductAdmin(metrics: Metrics) {
  const registers = [metrics.registry];
  const writes = new Counter({
    name: 'shop_product_admin_writes_total',
    help: 'Operator writes to the catalog by operation (create, update, restock) and outcome',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  for (const operation of PRODUCT_ADMIN_OPERATIONS) {
    for (const outcome of PRODUCT_ADMIN_OUTCOMES) writes.inc({ operation, outcome }, 0);
  }
  const restocks = new Counter({
    name: 'shop_product_restocks_total',
    help: 'Restocks applied through the API (once per Idempotency-Key; replays not counted)',
    registers,
  });
  const units = new Counter({
    name: 'shop_product_restocked_units_total',
    help: 'Units added to stock by restocks applied through the API',
    registers,
  });
  return {
    write(operation: ProductAdminOperation, outcome: ProductAdminOutcome): void {
      writes.inc({ operation, outcome });
    },
    restocked(quantity: number): void {
      restocks.inc();
      units.inc(quantity);
    },
  };
}

export type ProductAdminMetrics = ReturnType<typeof observeProductAdmin>;
