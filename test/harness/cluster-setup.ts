import { announceRedisCluster } from './env';
import { RedisCluster } from './redis-cluster';

const STARTED = Symbol.for('shop.test.redisCluster');
type WithCluster = typeof globalThis & { [STARTED]?: RedisCluster };

/**
 * Global setup of the `cluster` jest project: a 6-node Redis Cluster (3 masters, 3 replicas)
 * on loopback ports and in a folder of its own, for this run's cluster test files; stopped by
 * `cluster-teardown.ts`.
 */
export default async function clusterSetup(): Promise<void> {
  const cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 1 });
  (globalThis as WithCluster)[STARTED] = cluster;
  announceRedisCluster(cluster.seeds);
}

export async function stopStartedCluster(): Promise<void> {
  const holder = globalThis as WithCluster;
  await holder[STARTED]?.stop();
  holder[STARTED] = undefined;
  announceRedisCluster(undefined);
}
