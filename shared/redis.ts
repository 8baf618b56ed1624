import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { keySlot } from './keyspace';
import type { Logger } from './logger';

/** A connection to the single Redis or to the Redis Cluster, whichever is configured. */
export type RedisClient = Redis | Cluster;

/**
 * `command`: request paths. No offline queue and one retry, so a Redis outage turns into a
 * fast error (503) instead of requests piling up in memory.
 * `worker`: BullMQ workers. `maxRetriesPerRequest: null` as BullMQ requires; blocking commands
 * wait for Redis to come back instead of failing the job.
 */
export type RedisRole = 'command' | 'worker';

/** Where Redis is: `REDIS_CLUSTER_NODES` when set, else `REDIS_URL`. */
export interface RedisTarget {
  url: string;
  clusterNodes: readonly { host: string; port: number }[] | undefined;
}

function roleOptions(role: RedisRole): RedisOptions {
  return role === 'command'
    ? {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        connectTimeout: 2_000,
        commandTimeout: 2_000,
        retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      }
    : {
        maxRetriesPerRequest: null,
        enableOfflineQueue: true,
        connectTimeout: 5_000,
        retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      };
}

/**
 * A connection in the given role; the caller owns it (`quit()`). On a cluster the role's
 * options apply to every node's connection, and a failover (a replica promoted after its
 * master died) is followed by refreshing the slot map and retrying the command.
 */
export function createRedisClient(
  target: RedisTarget,
  role: RedisRole,
  logger: Logger,
  overrides: RedisOptions = {},
): RedisClient {
  const options = { ...roleOptions(role), ...overrides };
  const client: RedisClient =
    target.clusterNodes === undefined
      ? new Redis(target.url, options)
      : new Cluster([...target.clusterNodes], clusterOptions(options));
  let lastLogged = 0;
  client.on('error', (error: Error) => {
    // ioredis emits one error per reconnect attempt; once every 5 s is enough to see an outage.
    if (Date.now() - lastLogged > 5_000) {
      lastLogged = Date.now();
      logger.warn('redis connection error', { role, error: error.message });
    }
  });
  return client;
}

function clusterOptions(redisOptions: RedisOptions): ClusterOptions {
  return {
    redisOptions,
    enableOfflineQueue: redisOptions.enableOfflineQueue ?? true,
    // A master that died: its replica takes over after cluster-node-timeout; keep asking.
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    slotsRefreshTimeout: 2_000,
    scaleReads: 'master',
  };
}

/**
 * A single-node connection (`url`): for tools that do not go through the configuration. Same
 * as {@link createRedisClient} without a cluster.
 */
export function createRedis(
  url: string,
  role: RedisRole,
  logger: Logger,
  overrides: RedisOptions = {},
): Redis {
  return createRedisClient({ url, clusterNodes: undefined }, role, logger, overrides) as Redis;
}

/**
 * Waits until `replicas` replicas have acknowledged every write this connection sent to the
 * master of `key`'s slot (Redis `WAIT`), for at most `timeoutMs`; answers how many did. On a
 * cluster, WAIT goes to that master over the connection the writes went through.
 */
export async function waitForReplicas(
  client: RedisClient,
  key: string,
  replicas: number,
  timeoutMs: number,
): Promise<number> {
  const node = client instanceof Cluster ? masterOf(client, key) : client;
  return (await node.call('WAIT', replicas, timeoutMs)) as number;
}

function masterOf(cluster: Cluster, key: string): Redis {
  const nodeKey = cluster.slots[keySlot(key)]?.[0];
  const master = cluster
    .nodes('master')
    .find((node) => `${node.options.host ?? ''}:${node.options.port ?? ''}` === nodeKey);
  if (!master) throw new Error(`no connection to the master of slot ${keySlot(key)}`);
  return master;
}
