import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from './logger';

/**
 * `command`: request paths. No offline queue and one retry, so a Redis outage turns into a
 * fast error (503) instead of requests piling up in memory.
 * `worker`: BullMQ workers. `maxRetriesPerRequest: null` as BullMQ requires; blocking commands
 * wait for Redis to come back instead of failing the job.
 */
export type RedisRole = 'command' | 'worker';

export function createRedis(
  url: string,
  role: RedisRole,
  logger: Logger,
  overrides: RedisOptions = {},
): Redis {
  const options: RedisOptions =
    role === 'command'
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
  const redis = new Redis(url, { ...options, ...overrides });
  let lastLogged = 0;
  redis.on('error', (error: Error) => {
    // ioredis emits one error per reconnect attempt; once every 5 s is enough to see an outage.
    if (Date.now() - lastLogged > 5_000) {
      lastLogged = Date.now();
      logger.warn('redis connection error', { role, error: error.message });
    }
  });
  return redis;
}
