import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type RequestListener, type Server } from 'node:http';
import { Cluster } from 'ioredis';
import type { Sequelize } from 'sequelize';
import { createApi, type ApiOptions } from '../../api/app';
import { buildAppDeps, stopAppDeps } from '../../api/wiring';
import { loadConfig, type Config } from '../../shared/config';
import { migrate } from '../../shared/db/migrator';
import { createSequelize, ensureDatabase } from '../../shared/db/sequelize';
import { createLogger, type Logger } from '../../shared/logger';
import { createQueues } from '../../shared/queues';
import { createRedisClient, type RedisClient } from '../../shared/redis';
import { signUserToken } from '../../shared/tokens';
import { testDatabaseUrl, testLogLevel, testRedisClusterNodes, testRedisUrl } from './env';
import { checkResponsesAgainstOpenApi } from './http';

export const TEST_JWT_SECRET = 'test-secret-0123456789-0123456789-abcdef';

/**
 * One test file's private world: a fresh database (migrated) and a Redis key prefix, created
 * here and dropped by {@link TestContext.destroy}. Files therefore run in parallel, in any order.
 */
export interface TestContext {
  /** Unique per file; use it as database name suffix, Redis prefix and queue namespace. */
  id: string;
  config: Config;
  env: Record<string, string>;
  sequelize: Sequelize;
  redis: RedisClient;
  logger: Logger;
  tokenFor(userId: number | string, expiresIn?: string | number): Promise<string>;
  destroy(): Promise<void>;
}

export async function createTestContext(
  overrides: Record<string, string> = {},
): Promise<TestContext> {
  const id = `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const databaseName = `shop_test_${id}`;
  const cluster = testRedisClusterNodes();
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: testDatabaseUrl(databaseName),
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: `shoptest-${id}`,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: testLogLevel(),
    SEED_DEMO: 'false',
    // Tests run many processes at once on few cores: shedding on event-loop lag would
    // turn its noise into random 503s. Admission control has tests of its own.
    ADMISSION_MAX_LAG_MS: '10000',
    // Likewise a 500 ms Redis command timeout turns a busy machine's pauses into 503s; the
    // fail-fast tests set their own short timeouts.
    REDIS_COMMAND_TIMEOUT_MS: '5000',
    ...(cluster === undefined ? {} : { REDIS_CLUSTER_NODES: cluster }),
    ...overrides,
  };
  const config = loadConfig(env);
  const logger = createLogger({ level: config.logLevel, service: 'test' });
  await ensureDatabase(config.database.url);
  const sequelize = createSequelize(config.database.url, { poolMax: 20 });
  await migrate(sequelize, config.database.url);
  const redis = createRedisClient(config.redis, 'worker', logger);

  return {
    id,
    config,
    env,
    sequelize,
    redis,
    logger,
    tokenFor: (userId, expiresIn = '1h') => signUserToken(TEST_JWT_SECRET, userId, expiresIn),
    async destroy() {
      await deleteKeys(redis, `${config.redis.prefix}:*`);
      await redis.quit();
      await sequelize.query(`DROP DATABASE IF EXISTS \`${databaseName}\``);
      await sequelize.close();
    },
  };
}

/**
 * Deletes every key matching `pattern`: on a cluster, on each master, one key at a time (keys
 * of different slots cannot share a command).
 */
export async function deleteKeys(redis: RedisClient, pattern: string): Promise<void> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  for (const node of nodes) {
    const keys = await node.keys(pattern);
    const pipeline = node.pipeline();
    for (const key of keys) pipeline.unlink(key);
    if (keys.length > 0) await pipeline.exec();
  }
}

export interface RunningApi {
  baseUrl: string;
  close(): Promise<void>;
}

/** Builds the real app over the context's database and Redis and listens on an ephemeral port. */
export async function startApi(ctx: TestContext, options: ApiOptions = {}): Promise<RunningApi> {
  return startApiOver(ctx, options);
}

/**
 * Builds the real app over the given clients, which the caller created and closes (they may
 * point at unreachable servers); the queues made here are closed by the returned `close()`.
 */
export async function startApiOver(
  clients: {
    config: Config;
    logger: Logger;
    sequelize: Sequelize;
    /** A read replica's connection, for catalog reads (the caller closes it too). */
    replica?: Sequelize;
    redis: RedisClient;
  },
  options: ApiOptions = {},
): Promise<RunningApi> {
  const queues = createQueues(
    clients.redis,
    clients.config.redis,
    clients.config.jobs,
    clients.logger,
  );
  const deps = buildAppDeps({ ...clients, queues });
  const api = createApi(deps, options);
  const running = await serve(api.listener);
  // Every answer the tests get from the app must match the OpenAPI document it serves.
  const stopChecking = checkResponsesAgainstOpenApi(running.baseUrl);
  return {
    baseUrl: running.baseUrl,
    close: async () => {
      stopChecking();
      await running.close();
      api.close();
      stopAppDeps(deps);
      await queues.close();
    },
  };
}

/**
 * Listens with any request listener (an Express app is one) on an ephemeral port of
 * 127.0.0.1; `close()` drops open connections.
 */
export async function serve(listener: RequestListener): Promise<RunningApi> {
  const server: Server = await new Promise((resolve) => {
    const s = createServer(listener).listen(0, '127.0.0.1', () => {
      resolve(s);
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
    },
  };
}

export interface ApiWorld {
  readonly ctx: TestContext;
  readonly api: RunningApi;
  /**
   * A fresh app over a cold catalog cache (its process cache and the Redis copy dropped), for
   * tests that rewrite the catalog between cases and must not wait out the cache's 5 s bound.
   */
  restartApi(): Promise<void>;
}

/** Drops the Redis copies of catalog entries (each app's own cache goes with the app). */
export async function clearCatalogCache(ctx: TestContext): Promise<void> {
  const keys = await ctx.redis.keys(`${ctx.config.redis.prefix}:catalog:*`);
  if (keys.length > 0) await ctx.redis.del(...keys);
}

/**
 * Registers beforeAll/afterAll that create this file's context and app, and returns accessors
 * valid inside tests.
 */
export function useApiWorld(overrides: Record<string, string> = {}): ApiWorld {
  let ctx: TestContext | undefined;
  let api: RunningApi | undefined;
  beforeAll(async () => {
    ctx = await createTestContext(overrides);
    api = await startApi(ctx);
  });
  afterAll(async () => {
    await api?.close();
    await ctx?.destroy();
  });
  return {
    get ctx() {
      if (!ctx) throw new Error('the test context exists only inside tests');
      return ctx;
    },
    get api() {
      if (!api) throw new Error('the app exists only inside tests');
      return api;
    },
    async restartApi() {
      if (!ctx) throw new Error('the test context exists only inside tests');
      await api?.close();
      await clearCatalogCache(ctx);
      api = await startApi(ctx);
    },
  };
}
