/**
 * Where this system's Redis keys live. One prefix (`REDIS_PREFIX`) on a single Redis with one
 * partition: every key as it always was (`shop:orders:…`, `shop:status:…`). With more
 * partitions, or on a Redis Cluster, the keys of each partition share a hash tag of their own
 * (`shop:{p3.17}:orders:wait`, `shop:{p3.17}:status:order:…`), so a partition's queues and
 * request records sit in one slot — a script or a BullMQ command never spans two — and the
 * partitions spread over the cluster's masters. Concerns shared by every user (the catalog
 * cache, order events, the reconcile) get tags of their own.
 *
 * A request belongs to the partition of its user ({@link Keyspace.partitionOf}): a user's
 * idempotency keys, status records and jobs share one slot, so an accept stays one atomic
 * script.
 */
export interface Keyspace {
  /** How many partitions requests are spread over (`QUEUE_PARTITIONS`). */
  readonly partitions: number;
  /** Every partition number, 0 … partitions − 1. */
  readonly all: readonly number[];
  /** The partition of a user's requests. */
  partitionOf(userId: number): number;
  /** The key prefix of one partition's queues and request records. */
  partition(partition: number): string;
  /** The key prefix of a concern shared by every user. */
  shared(concern: SharedConcern): string;
}

export type SharedConcern = 'catalog' | 'events' | 'reconcile';

export const SLOTS = 16_384;

/** CRC16-CCITT (XMODEM), as Redis Cluster hashes keys. */
export function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/**
 * The Redis Cluster slot of a key: only the part between the first `{` and the next `}` is
 * hashed when that part is not empty (the hash tag), else the whole key.
 */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(key.slice(open + 1, close)) % SLOTS;
  }
  return crc16(key) % SLOTS;
}

/**
 * The hash tag of partition `p` of `count`: the first `p<p>.<k>` whose slot lies in the p-th
 * of `count` equal shares of the slot space. A cluster gives its masters equal contiguous slot
 * ranges, so the partitions spread over them evenly — hashing `p0`, `p1`, … would leave it to
 * chance (a master could get none).
 */
export function partitionTag(p: number, count: number): string {
  const from = Math.floor((p * SLOTS) / count);
  const to = Math.floor(((p + 1) * SLOTS) / count);
  for (let k = 0; ; k++) {
    const tag = `p${p}.${k}`;
    const slot = crc16(tag) % SLOTS;
    if (slot >= from && slot < to) return tag;
  }
}

/**
 * The key layout for a prefix and a number of partitions. `tagged` (a cluster, or more than one
 * partition) puts hash tags in; without it the single partition keeps the prefix as it is.
 */
export function createKeyspace(prefix: string, partitions: number, tagged: boolean): Keyspace {
  if (tagged && /[{}]/.test(prefix)) {
    throw new Error('REDIS_PREFIX must not contain braces: the partitions bring hash tags');
  }
  const prefixes = Array.from({ length: partitions }, (_, p) =>
    tagged ? `${prefix}:{${partitionTag(p, partitions)}}` : prefix,
  );
  return {
    partitions,
    all: prefixes.map((_, p) => p),
    partitionOf: (userId) => userId % partitions,
    partition: (p) => {
      const found = prefixes[p];
      if (found === undefined) throw new Error(`no partition ${p} of ${partitions}`);
      return found;
    },
    shared: (concern) => (tagged ? `${prefix}:{${concern}}` : prefix),
  };
}

/** The layout a configuration asks for (`REDIS_PREFIX`, `QUEUE_PARTITIONS`, a cluster). */
export function keyspaceOf(redis: {
  prefix: string;
  partitions: number;
  clusterNodes: readonly unknown[] | undefined;
}): Keyspace {
  return createKeyspace(
    redis.prefix,
    redis.partitions,
    redis.clusterNodes !== undefined || redis.partitions > 1,
  );
}

/** The layout before a change of `QUEUE_PARTITIONS` that is still being drained, if any. */
export function previousKeyspaceOf(redis: {
  prefix: string;
  previousPartitions: number | undefined;
  clusterNodes: readonly unknown[] | undefined;
}): Keyspace | undefined {
  const previous = redis.previousPartitions;
  return previous === undefined
    ? undefined
    : createKeyspace(redis.prefix, previous, redis.clusterNodes !== undefined || previous > 1);
}

/** The key layouts in use: the configured one and, while re-partitioning, the previous one. */
export interface Layout {
  current: Keyspace;
  previous: Keyspace | undefined;
}

export function layoutOf(redis: {
  prefix: string;
  partitions: number;
  previousPartitions: number | undefined;
  clusterNodes: readonly unknown[] | undefined;
}): Layout {
  return { current: keyspaceOf(redis), previous: previousKeyspaceOf(redis) };
}
