import { announceRedisCluster } from './env';
import globalSetup from './global-setup';
import { RedisCluster } from './redis-cluster';

const STARTED = Symbol.for('shop.test.redisCluster');
type WithCluster = typeof globalThis & { [STARTED]?: RedisCluster };

/**
 * Global setup of the `cluster` jest project: what the `single` project's does (servers
 * answer, `dist/` built: `--selectProjects cluster` alone needs it too; tsc is incremental,
 * so running both projects builds once), then a 6-node Redis Cluster (3 masters, 3 replicas)
 * on loopback ports and in a folder of its own, for this run's cluster test files; stopped by
 * `cluster-teardown.ts`.
 */
export default async function clusterSetup(): Promise<void> {
  await globalSetup();
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
