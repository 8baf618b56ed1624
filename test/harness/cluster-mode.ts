import { useRedisCluster } from './env';

// The `cluster` jest project's setup file: its test files run against the Redis Cluster its
// global setup started (test/harness/cluster-setup.ts).
useRedisCluster();
