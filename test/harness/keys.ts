import { Cluster } from 'ioredis';
import { keyspaceOf, type SharedConcern } from '../../shared/keyspace';
import type { RedisClient } from '../../shared/redis';
import type { TestContext } from './context';

/** The key prefix of a user's partition in this context's layout (`shared/keyspace.ts`). */
export function userBase(ctx: TestContext, userId: number): string {
  const keyspace = keyspaceOf(ctx.config.redis);
  return keyspace.partition(keyspace.partitionOf(userId));
}

/** The key prefix of a shared concern in this context's layout. */
export function sharedBase(ctx: TestContext, concern: SharedConcern): string {
  return keyspaceOf(ctx.config.redis).shared(concern);
}

/** KEYS over every master of a cluster, or the single Redis. */
export async function findKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
  return (await Promise.all(nodes.map((node) => node.keys(pattern)))).flat();
}
