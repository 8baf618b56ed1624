import { MetricsTime, Queue, Worker, type ConnectionOptions } from 'bullmq';
import { messageOf } from '../shared/infra-errors';
import type { Sequelize } from 'sequelize';
import type { Config } from '../shared/config';
import { createCatalogSource } from '../shared/db/catalog-source';
import { createBalancesRepository } from '../shared/db/repositories/balances';
import { createCancellationsRepository } from '../shared/db/repositories/cancellations';
import { createChargesRepository } from '../shared/db/repositories/charges';
import { createEventsRepository } from '../shared/db/repositories/events';
import { createOrdersRepository } from '../shared/db/repositories/orders';
import { createProductsRepository } from '../shared/db/repositories/products';
import { refreshTopSellers, TOP_PERIOD_MS } from '../shared/catalog/top-sellers';
import { createStockRepository } from '../shared/db/repositories/stock';
import type { Logger } from '../shared/logger';
import { CHECK_NAMES } from '../shared/db/reconcile';
import {
  createMetrics,
  observeBreaker,
  observeCatalogSource,
  observePool,
  observeQueues,
  observeReconcile,
  type Metrics,
} from '../shared/metrics';
import { TRACKED_KINDS } from '../shared/reconcile';
import { requestsParser, type JobPayload } from '../shared/queues/batch';
import { observedPartitions, partitionedQueue, type PartitionedQueue } from '../shared/queues';
import { CANCELLATIONS_QUEUE } from '../shared/queues/cancellations';
import { CHARGES_QUEUE } from '../shared/queues/charges';
import { ORDERS_QUEUE } from '../shared/queues/orders';
import {
  breakerSettings,
  createDbBreaker,
  guarded,
  type DbBreaker,
} from '../shared/resilience/breaker';
import type { RequestRecords } from '../shared/requests/records';
import { cancellationJobs } from './cancellations/cancellation-jobs';
import { chargeJobs } from './charges/charge-jobs';
import { startEventDelivery, type EventDeliveryOptions } from './events/start';
import { failedForGood, holdUnresolved } from './jobs/on-hold';
import { jobProcessor, type QueueJobs, type RequestView } from './jobs/processor';
import { orderJobs } from './orders/order-jobs';
import { startReconcileSchedule, type ReconcileSchedule } from './reconcile/schedule';
import { latestReport } from './reconcile/store';
import { watchWorker, type WatchedWorker } from './watchdog';

export interface WorkerClients {
  config: Config;
  logger: Logger;
  sequelize: Sequelize;
  /**
   * The read replica's connection (`DATABASE_REPLICA_URL`), if any: the top-sellers ranking and
   * the reconcile's invariant checks read it while it keeps up.
   */
  replica?: Sequelize | undefined;
  /** Connection for the BullMQ workers (role `worker`: maxRetriesPerRequest null). */
  connection: ConnectionOptions;
  records: RequestRecords;
}

export interface RunningWorkers {
  /** The workers as they are now (the watchdog may have replaced one). */
  workers(): Worker[];
  queues: Queue[];
  metrics: Metrics;
  breaker: DbBreaker;
  /** The scheduled reconcile of this process (`RECONCILE_INTERVAL_S`). */
  reconcile: ReconcileSchedule;
  /** Stops taking jobs and waits for the active ones; idempotent. */
  close(): Promise<void>;
}

/** Stalls a job may survive (its worker died or lost the lock); one more and it goes ON_HOLD. */
const MAX_STALLED_COUNT = 5;

/**
 * One kind of request's workers: a BullMQ worker per partition (`shared/keyspace.ts`), each
 * with its share of the process's concurrency, so a busy partition never takes the slots of
 * the others — fair by construction. Their requests still meet in this process (orders in one
 * group commit). A database outage pauses every partition's queue.
 */
function startPartitionedWorkers<J, V extends RequestView>(
  queueName: string,
  queueJobs: QueueJobs<J, V>,
  breaker: DbBreaker,
  metrics: Metrics,
  { config, logger, connection, records }: WorkerClients,
  concurrency = config.worker.concurrency,
): { queue: PartitionedQueue<J>; watched: WatchedWorker[] } {
  const queue = partitionedQueue<J>(queueName, config.redis, (prefix) => {
    const opened = new Queue<JobPayload<J>>(queueName, { connection, prefix });
    opened.on('error', (error) => {
      logger.warn('queue error', { queue: queueName, error: error.message });
    });
    return opened;
  });
  const perPartition = Math.max(1, Math.ceil(concurrency / config.redis.partitions));
  const pauseQueue = async (ms: number) => {
    await Promise.all(queue.partitions.map((p) => p.queue.rateLimit(ms)));
  };
  const requestsOf = requestsParser(queueJobs.schema);

  const watched = queue.partitions.map(({ base, queue: partitionQueue }) => {
    const part = records.part(base);
    const processor = jobProcessor(queueJobs, {
      records: part,
      logger,
      breaker,
      metrics,
      pauseQueue,
    });
    const create = () => {
      const worker = new Worker(queueName, processor, {
        connection,
        prefix: base,
        concurrency: perPartition,
        lockDuration: config.worker.lockMs,
        stalledInterval: config.worker.lockMs,
        // Processing is idempotent, so a job whose worker died may safely run again.
        maxStalledCount: MAX_STALLED_COUNT,
        // Per-minute completed/failed counts for `npm run ops -- queues`.
        metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
      });
      worker.on('error', (error) => {
        logger.warn('worker error', { queue: queueName, error: error.message });
      });
      worker.on('failed', (job) => {
        // No request of a job failed for good is left PENDING or PROCESSING with nothing to
        // finish it (stalled too often, or its last attempt failed at a status write).
        if (job && failedForGood(job)) {
          const requests = requestsOf(job.data) ?? [];
          void holdUnresolved(queueJobs, { records: part, logger, metrics }, queueName, requests);
        }
      });
      return worker;
    };
    return watchWorker({
      create,
      queue: partitionQueue as Queue,
      logger,
      idleExpected: () => breaker.state !== 'closed',
    });
  });
  return { queue, watched };
}

/** Tuning of one worker process beyond its config (tests shorten event delays with it). */
export interface WorkerOptions {
  events?: Partial<EventDeliveryOptions>;
  /** Open ids the scheduled reconcile examines per kind and run (default 10,000). */
  reconcileMaxExamined?: number;
}

/**
 * The charge, order, cancellation and event workers of one worker process, behind one
 * database breaker.
 */
export function startWorkers(clients: WorkerClients, options: WorkerOptions = {}): RunningWorkers {
  const { sequelize, config, logger } = clients;
  const breaker = createDbBreaker(
    'worker-db',
    breakerSettings(config.breaker, config.breaker.workerTimeoutMs),
    logger,
  );
  const metrics = createMetrics('workers');
  observeBreaker(metrics, 'worker-db', breaker);
  observePool(metrics, sequelize, config.database.poolMax);
  const events = startEventDelivery({ ...clients, breaker, metrics }, options.events);
  const balances = createBalancesRepository(sequelize);
  const orders = createOrdersRepository(sequelize);
  const stock = createStockRepository(sequelize);
  const eventsRepository = createEventsRepository(sequelize);
  const eventRecorded = (eventId: string) => {
    events.relay.recorded(eventId);
  };
  const started = [
    startPartitionedWorkers(
      CHARGES_QUEUE,
      chargeJobs({ sequelize, balances, charges: createChargesRepository(sequelize) }),
      breaker,
      metrics,
      clients,
    ),
    startPartitionedWorkers(
      ORDERS_QUEUE,
      orderJobs(
        {
          sequelize,
          balances,
          orders,
          stock,
          events: eventsRepository,
          eventRecorded,
        },
        {
          maxBatch: clients.config.worker.ordersInFlight,
          committed: (orders) => {
            metrics.orderBatchSize.observe(orders);
          },
          fellBack: ({ cause, orders, error }) => {
            metrics.orderBatchFallbacks.inc({ cause });
            logger.warn(
              cause === 'duplicate'
                ? 'order transaction rolled back: an order is already recorded'
                : 'order transaction rolled back: applying its orders one by one',
              { cause, orders, error: messageOf(error) },
            );
          },
        },
      ),
      breaker,
      metrics,
      clients,
      // More orders in hand make bigger batches: one commit for many orders.
      clients.config.worker.ordersInFlight,
    ),
    startPartitionedWorkers(
      CANCELLATIONS_QUEUE,
      cancellationJobs({
        sequelize,
        balances,
        orders,
        stock,
        cancellations: createCancellationsRepository(sequelize),
        events: eventsRepository,
        eventRecorded,
        applied: (result, refunded) => {
          metrics.cancellations.inc({ result });
          if (refunded > 0) metrics.refundedAmount.inc(refunded);
        },
      }),
      breaker,
      metrics,
      clients,
    ),
  ];

  const observed = [
    ...started.flatMap((s) => observedPartitions(s.queue as PartitionedQueue<unknown>)),
    { queue: events.queue as Queue, partition: 'all' },
  ];
  const queues = observed.map((o) => o.queue);
  observeQueues(metrics, observed);

  // The top-sellers ranking is precomputed here every 30 s (one process per period does it),
  // so API requests never aggregate orders. It reads the replica while that keeps up.
  const catalogSource = createCatalogSource({
    primary: guarded(createProductsRepository(sequelize), breaker),
    replica: clients.replica,
    breaker: breakerSettings(config.breaker, config.breaker.workerTimeoutMs),
    maxLagS: config.database.replica.maxLagS,
    logger,
  });
  observeCatalogSource(metrics, catalogSource);
  const refreshTop = () => {
    const started = performance.now();
    return refreshTopSellers(
      clients.records.redis,
      clients.records.keyspace.shared('catalog'),
      catalogSource.products,
      (before) => breaker.run(() => stock.pruneSales(before)),
      TOP_PERIOD_MS,
    ).then(
      (refreshed) => {
        if (refreshed) metrics.topSellersRefresh.observe((performance.now() - started) / 1e3);
      },
      (error: unknown) => {
        logger.debug('top sellers refresh skipped', { error: messageOf(error) });
      },
    );
  };
  const topTimer = setInterval(() => void refreshTop(), TOP_PERIOD_MS);
  topTimer.unref();
  // After the replica's first check, so the first ranking of a period reads it if it can.
  void catalogSource.firstCheck.then(() => (closing === undefined ? refreshTop() : undefined));

  const { redis } = clients.records;
  const reconcile = startReconcileSchedule(
    {
      sequelize,
      records: clients.records,
      redis,
      prefix: clients.records.keyspace.shared('reconcile'),
      breaker,
      logger,
      // The checks' scans read the replica while it keeps up, as the catalog does.
      checksDb: () =>
        clients.replica !== undefined && catalogSource.state === 'serving'
          ? { sequelize: clients.replica, source: 'replica' }
          : { sequelize, source: 'primary' },
    },
    {
      intervalS: config.reconcile.intervalS,
      fullIntervalS: config.reconcile.fullIntervalS,
      stuckAfterS: config.reconcile.stuckAfterS,
      ...(options.reconcileMaxExamined === undefined
        ? {}
        : { maxExamined: options.reconcileMaxExamined }),
    },
  );
  observeReconcile(metrics, {
    checks: CHECK_NAMES,
    kinds: TRACKED_KINDS,
    latest: async () => {
      const report = await latestReport(redis, clients.records.keyspace.shared('reconcile'));
      return (
        report && {
          startedAt: report.startedAt,
          completedAt: report.completedAt,
          drift: report.drift,
          stuck: {
            order: report.stuck.order.count,
            charge: report.stuck.charge.count,
            cancel: report.stuck.cancel.count,
          },
        }
      );
    },
  });

  let closing: Promise<void> | undefined;
  return {
    workers: () => {
      const delivery = events.worker();
      return [
        ...started.flatMap((s) => s.watched.map((w) => w.current())),
        ...(delivery ? [delivery] : []),
      ];
    },
    queues,
    metrics,
    breaker,
    reconcile,
    close() {
      closing ??= (async () => {
        clearInterval(topTimer);
        catalogSource.stop();
        await Promise.allSettled([
          reconcile.close(),
          ...started.flatMap((s) => s.watched.map((w) => w.close())),
        ]);
        // After the order workers: no event can be recorded any more, so none is left behind.
        await events.close();
        await Promise.allSettled(
          started.flatMap((s) => s.queue.partitions.map((p) => p.queue.close())),
        );
        breaker.shutdown();
      })();
      return closing;
    },
  };
}
