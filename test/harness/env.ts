/**
 * Where the tests find MariaDB and Redis: TEST_DATABASE_URL / TEST_REDIS_URL, else the local
 * defaults. Only the server part is used; every test file gets its own database and prefix.
 */
export function testDatabaseUrl(database: string): string {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/');
  url.pathname = `/${database}`;
  return url.toString();
}

export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** The log level of the systems tests start (TEST_LOG_LEVEL, default error). */
export function testLogLevel(): string {
  return process.env.TEST_LOG_LEVEL ?? 'error';
}

/**
 * The Redis Cluster the `cluster` test project runs against (its global setup starts one and
 * sets TEST_REDIS_CLUSTER_NODES; `cluster-mode.ts` sets TEST_REDIS_MODE in that project's test
 * files), or undefined: the single Redis.
 */
export function testRedisClusterNodes(): string | undefined {
  return process.env.TEST_REDIS_MODE === 'cluster'
    ? process.env.TEST_REDIS_CLUSTER_NODES
    : undefined;
}

/** The `cluster` project's global setup hands its cluster's seeds to the test files. */
export function announceRedisCluster(seeds: string | undefined): void {
  if (seeds === undefined) delete process.env.TEST_REDIS_CLUSTER_NODES;
  else process.env.TEST_REDIS_CLUSTER_NODES = seeds;
}

/** The `cluster` project's setup file: this test file runs against the cluster. */
export function useRedisCluster(): void {
  process.env.TEST_REDIS_MODE = 'cluster';
}
