import type { Sequelize } from 'sequelize';
import { messageOf } from '../infra-errors';
import type { Logger } from '../logger';
import { createDbBreaker, type BreakerSettings } from '../resilience/breaker';
import { createProductsRepository, type ProductsRepository } from './repositories/products';
import { createReplicationProbe, type ReplicationStatus } from './replication';

/** Where one catalog read went. */
export type CatalogReadSource = 'replica' | 'primary';

/**
 * The replica as the catalog sees it: `none` configured; `serving` catalog reads (it answers,
 * both replication threads run, lag under the bound); `lagging` (answers, replicating, lag at
 * or over the bound); `unavailable` (does not answer, its breaker is open, replication is
 * stopped or broken, or it is not a replica at all). Not serving means reads go to the primary.
 */
export type ReplicaState = 'none' | 'serving' | 'lagging' | 'unavailable';

export const REPLICA_STATES: readonly ReplicaState[] = [
  'none',
  'serving',
  'lagging',
  'unavailable',
];

export interface CatalogSourceOptions {
  /** The primary's products repository, behind the process's own database breaker. */
  primary: ProductsRepository;
  /** A read replica's connection, owned (and closed) by the caller. Without it: the primary. */
  replica?: Sequelize;
  /**
   * The replica's own breaker (the process's timeout for a read): a dead replica opens this
   * one, never the primary's.
   */
  breaker: BreakerSettings;
  /** REPLICA_MAX_LAG_S: reads stay on the replica while its lag is under this. */
  maxLagS: number;
  /** How often the replica's lag is measured. Default 1,000 ms. */
  checkIntervalMs?: number;
  logger: Logger;
}

export interface CatalogSource {
  /**
   * The catalog's reads (products, the change feed, top sellers), each sent where the lag guard
   * says at the moment of the call: the replica while it serves, else the primary. A replica
   * read that fails is answered by the primary, and the replica stops serving until its next
   * good check.
   */
  readonly products: ProductsRepository;
  readonly state: ReplicaState;
  /** The replica's last measured lag in seconds; null when unknown or without a replica. */
  readonly lagS: number | null;
  /**
   * How far behind the primary a read of this source may be: 0 without a replica, else the lag
   * bound plus one check interval (the lag may grow by that much between two checks).
   */
  readonly maxStalenessMs: number;
  /**
   * Resolves once the replica's state is first known (its first check answered or failed);
   * at once without a replica. Until then reads go to the primary.
   */
  readonly firstCheck: Promise<void>;
  /** Listens to every read answered, by where it was answered (metrics). */
  onRead(listener: (source: CatalogReadSource) => void): void;
  /** Stops measuring and shuts the replica's breaker; the connections stay with their owner. */
  stop(): void;
}

/**
 * Catalog reads over a primary and an optional read replica. The lag is measured in the
 * background (`SHOW REPLICA STATUS`, through the replica's breaker, so the check is also the
 * breaker's probe); every read asks the current state and goes to one of two repositories.
 *
 * Why `Seconds_Behind_Master` rather than a heartbeat row: a heartbeat needs a writer that
 * always runs, and the API never writes the database while workers may be scaled to zero; a
 * stale heartbeat would then look like lag. The replica's own status needs no writes and only
 * the `SLAVE MONITOR` privilege. Its blind spot — a silently dead link to the primary looks
 * caught up until the replica's `slave_net_timeout` expires — is closed by a short timeout on
 * the replica (docs/scale-out.md#read-replicas).
 */
export function createCatalogSource(options: CatalogSourceOptions): CatalogSource {
  const { primary, replica, maxLagS, logger } = options;
  const checkIntervalMs = options.checkIntervalMs ?? 1_000;
  const readListeners: ((source: CatalogReadSource) => void)[] = [];
  const answered = <T>(source: CatalogReadSource, value: T): T => {
    for (const listener of readListeners) listener(source);
    return value;
  };

  if (replica === undefined) {
    const read = <T>(call: (repo: ProductsRepository) => Promise<T>) =>
      call(primary).then((value) => answered('primary', value));
    return {
      products: routed(read),
      state: 'none',
      lagS: null,
      maxStalenessMs: 0,
      firstCheck: Promise.resolve(),
      onRead: (listener) => readListeners.push(listener),
      stop: () => undefined,
    };
  }

  const breaker = createDbBreaker('catalog-replica', options.breaker, logger);
  const onReplica = createProductsRepository(replica);
  const probe = createReplicationProbe(replica);
  // Until the first check answers, the replica's lag is unknown: reads start on the primary.
  let state: Exclude<ReplicaState, 'none'> = 'unavailable';
  let lagS: number | null = null;
  let judged = false;

  /**
   * Logs the first judgement and every change of state after it, with why (the replica's
   * answer or the error): a replica that never serves says so from the start.
   */
  const moveTo = (next: typeof state, reason?: string) => {
    if (judged && next === state) return;
    const was = judged ? state : 'not checked yet';
    judged = true;
    state = next;
    if (next === 'serving') {
      logger.info('catalog reads back on the replica', { lagS, was });
    } else {
      logger.warn('catalog reads moved to the primary', { replica: next, reason, lagS });
    }
  };

  const judge = (status: ReplicationStatus) => {
    lagS = status.replicating ? status.lagS : null;
    if (!status.replicating) moveTo('unavailable', status.why);
    else if (breaker.state !== 'closed') moveTo('unavailable', 'its breaker is not closed');
    else if (status.lagS >= maxLagS) moveTo('lagging', `lag ${status.lagS} s`);
    else moveTo('serving');
  };

  let checking = false;
  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      judge(await breaker.run(probe));
    } catch (error) {
      lagS = null;
      moveTo('unavailable', messageOf(error));
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), checkIntervalMs);
  timer.unref();
  const firstCheck = check();

  const read = async <T>(call: (repo: ProductsRepository) => Promise<T>): Promise<T> => {
    if (state === 'serving') {
      try {
        return answered('replica', await breaker.run(() => call(onReplica)));
      } catch (error) {
        // Whatever went wrong there, the primary answers this read; the next good check
        // brings the replica back.
        moveTo('unavailable', messageOf(error));
      }
    }
    return answered('primary', await call(primary));
  };

  return {
    products: routed(read),
    get state() {
      return state;
    },
    get lagS() {
      return lagS;
    },
    maxStalenessMs: maxLagS * 1_000 + checkIntervalMs,
    firstCheck,
    onRead: (listener) => readListeners.push(listener),
    stop() {
      clearInterval(timer);
      breaker.shutdown();
    },
  };
}

/** A products repository whose every method goes through `read`. */
function routed(
  read: <T>(call: (repo: ProductsRepository) => Promise<T>) => Promise<T>,
): ProductsRepository {
  return {
    listAfter: (afterId, limit) => read((repo) => repo.listAfter(afterId, limit)),
    findById: (id) => read((repo) => repo.findById(id)),
    topSellers: (since, limit) => read((repo) => repo.topSellers(since, limit)),
    count: () => read((repo) => repo.count()),
    changedSince: (since) => read((repo) => repo.changedSince(since)),
  };
}
