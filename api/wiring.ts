import type { RedisClient } from '../shared/redis';
import type { Sequelize } from 'sequelize';
import type { Config } from '../shared/config';
import { createCatalogSource } from '../shared/db/catalog-source';
import { createChargesRepository } from '../shared/db/repositories/charges';
import { createOrdersRepository } from '../shared/db/repositories/orders';
import { createProductAdminRepository } from '../shared/db/repositories/product-admin';
import { createProductsRepository } from '../shared/db/repositories/products';
import { createUsersRepository } from '../shared/db/repositories/users';
import type { Logger } from '../shared/logger';
import {
  createMetrics,
  observeBreaker,
  observeCatalogSource,
  observePool,
  observeProductAdmin,
  observeQueues,
} from '../shared/metrics';
import type { RequestQueues } from '../shared/queues';
import { CANCELLATIONS_QUEUE } from '../shared/queues/cancellations';
import { CHARGES_QUEUE } from '../shared/queues/charges';
import { ORDERS_QUEUE } from '../shared/queues/orders';
import { createAdmission } from '../shared/resilience/admission';
import { breakerSettings, createDbBreaker, guarded } from '../shared/resilience/breaker';
import { createRequestRecords } from '../shared/requests/records';
import type { AppDeps } from './app';
import { bullBoardRouter } from './admin/bull-board';
import { createProductAdmin } from './admin/products/use-cases';
import { createCatalog } from './catalog/use-cases';
import { createChargesService } from './charges/use-cases';
import { createOrdersService } from './orders/use-cases';
import { createCancellationsService } from './orders/cancellations';

export interface ApiClients {
  config: Config;
  logger: Logger;
  sequelize: Sequelize;
  /** The read replica's connection (`DATABASE_REPLICA_URL`), if there is one: catalog reads. */
  replica?: Sequelize | undefined;
  /** A `command`-role connection: fails fast while Redis is down. */
  redis: RedisClient;
  queues: RequestQueues;
}

/**
 * A queue's backlog in requests: its waiting jobs times the requests per job this process has
 * been enqueueing (a job carries one accept, or a batch of accepts that arrived together).
 */
async function backlog(
  queue: RequestQueues['orders'] | RequestQueues['charges'] | RequestQueues['cancellations'],
  requestsPerJob: number,
): Promise<number> {
  // Summed over the partitions: the workers drain them all.
  const counts = await Promise.all(
    queue.partitions.map((p) => p.queue.getJobCounts('wait', 'delayed', 'prioritized')),
  );
  const jobs = counts.reduce(
    (sum, c) => sum + (c.wait ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0),
    0,
  );
  return Math.round(jobs * requestsPerJob);
}

/**
 * Repositories and use-cases over clients someone else created (and will close). Database
 * reads go through one breaker, so they answer 503 at once while the database is down; catalog
 * reads go through the catalog source, to the replica while it keeps up (behind a breaker of
 * its own). The returned deps own timers (admission control, the catalog's change feed, the
 * replica's lag check): call `stopAppDeps(deps)` when done.
 */
export function buildAppDeps(clients: ApiClients): AppDeps {
  const { config, logger, sequelize, redis, queues } = clients;
  const records = createRequestRecords(redis, config.redis);
  const metrics = createMetrics('api');
  const limits = {
    replicaAck: {
      replicas: config.redis.minReplicasAck,
      timeoutMs: config.redis.replicaAckTimeoutMs,
      onUnacknowledged: () => {
        metrics.replicaAckFailures.inc();
      },
    },
    rate: { perWindow: config.rateLimitPerMinute, windowMs: 60_000 },
  };
  const breaker = createDbBreaker(
    'api-db',
    breakerSettings(config.breaker, config.breaker.apiTimeoutMs),
    logger,
  );
  for (const queue of [ORDERS_QUEUE, CHARGES_QUEUE, CANCELLATIONS_QUEUE]) {
    metrics.backlogRequests.set({ queue }, 0);
  }
  observeBreaker(metrics, 'api-db', breaker);
  observePool(metrics, sequelize, config.database.poolMax);
  observeQueues(metrics, queues.observed());
  const catalogSource = createCatalogSource({
    primary: guarded(createProductsRepository(sequelize), breaker),
    replica: clients.replica,
    breaker: breakerSettings(config.breaker, config.breaker.apiTimeoutMs),
    maxLagS: config.database.replica.maxLagS,
    logger,
  });
  observeCatalogSource(metrics, catalogSource);
  const charges = createChargesService({
    records,
    queue: queues.charges,
    limits,
    charges: guarded(createChargesRepository(sequelize), breaker),
  });
  const ordersRepository = guarded(createOrdersRepository(sequelize), breaker);
  const orders = createOrdersService({
    records,
    queue: queues.orders,
    limits,
    orders: ordersRepository,
  });
  const cancellations = createCancellationsService({
    records,
    queue: queues.cancellations,
    orderJobs: queues.orders,
    orders: ordersRepository,
    limits,
    windowH: config.orderCancelWindowH,
  });
  const catalog = createCatalog({
    products: catalogSource.products,
    sourceLagBoundMs: catalogSource.maxStalenessMs,
    redis,
    prefix: records.keyspace.shared('catalog'),
    logger,
    staleIfErrorS: config.catalog.staleIfErrorS,
  });
  return {
    config,
    logger,
    metrics,
    catalogSource,
    catalog,
    productAdmin: createProductAdmin({
      products: createProductAdminRepository(sequelize),
      catalog,
      breaker,
      metrics: observeProductAdmin(metrics),
      writeTimeoutMs: config.breaker.workerTimeoutMs,
    }),
    users: guarded(createUsersRepository(sequelize), breaker),
    charges,
    orders,
    cancellations,
    breaker,
    bullBoard: bullBoardRouter(queues.observed(), config.admin.readOnly),
    admission: createAdmission({
      maxBacklog: config.admission.maxBacklog,
      maxLagMs: config.admission.maxLagMs,
      logger,
      backlogs: async () => {
        const counts = {
          [ORDERS_QUEUE]: await backlog(queues.orders, orders.requestsPerJob()),
          [CHARGES_QUEUE]: await backlog(queues.charges, charges.requestsPerJob()),
          [CANCELLATIONS_QUEUE]: await backlog(
            queues.cancellations,
            cancellations.requestsPerJob(),
          ),
        };
        for (const [queue, requests] of Object.entries(counts)) {
          metrics.backlogRequests.set({ queue }, requests);
        }
        return counts;
      },
    }),
    probes: {
      database: () => sequelize.query('SELECT 1'),
      redis: () => redis.ping(),
    },
  };
}

/** Stops what buildAppDeps started (timers, breakers); the clients stay open for their owner. */
export function stopAppDeps(deps: AppDeps): void {
  deps.admission.stop();
  deps.catalog.stop();
  deps.catalogSource.stop();
  deps.breaker.shutdown();
}
