import { Queue, type ConnectionOptions } from 'bullmq';
import { layoutOf, type Keyspace } from '../keyspace';
import type { Logger } from '../logger';
import type { ObservedQueue } from '../metrics';
import type { JobPayload } from './batch';
import { CANCELLATIONS_QUEUE, type CancellationJob } from './cancellations';
import { CHARGES_QUEUE, type ChargeJob } from './charges';
import { EVENTS_QUEUE, eventJobOptions, type EventsJob } from './events';
import { requestJobOptions, type RetryPolicy } from './options';
import { ORDERS_QUEUE, type OrderJob } from './orders';

/** One partition's queue of a kind of request. */
export interface QueuePartition<J> {
  /** The partition's key prefix (its hash tag included): where its request records live too. */
  base: string;
  /** `p3`, or `previous:p3` for a partition of the layout being drained. */
  label: string;
  queue: Queue<JobPayload<J>>;
}

/**
 * A kind of request's queues, one per partition (`shared/keyspace.ts`): a user's requests go
 * to the queue of their partition; workers, operators and metrics go over all of them.
 */
export interface PartitionedQueue<J> {
  name: string;
  /** The queue a user's new requests go to. */
  forUser(userId: number): Queue<JobPayload<J>>;
  /** Every partition: the configured layout's, then those of the layout being drained. */
  partitions: readonly QueuePartition<J>[];
}

export interface RequestQueues {
  charges: PartitionedQueue<ChargeJob>;
  orders: PartitionedQueue<OrderJob>;
  cancellations: PartitionedQueue<CancellationJob>;
  /** Order events to the data platform (Bull Board, ops); their own retry policy. */
  events: Queue<EventsJob>;
  /** Every queue object above. */
  all(): Queue[];
  /** Every queue with its partition, for metrics and Bull Board. */
  observed(): ObservedQueue[];
  close(): Promise<void>;
}

/** Where Redis keys go: `Config['redis']` or the same fields. */
export interface QueueLayoutSource {
  prefix: string;
  partitions: number;
  previousPartitions: number | undefined;
  clusterNodes: readonly unknown[] | undefined;
}

/**
 * The queues of one kind of request, one per partition. `open` creates a queue under a prefix
 * (a worker's queues carry no default job options, a producer's do).
 */
export function partitionedQueue<J>(
  name: string,
  source: QueueLayoutSource,
  open: (prefix: string) => Queue<JobPayload<J>>,
): PartitionedQueue<J> {
  const { current, previous } = layoutOf(source);
  const of = (keyspace: Keyspace, label: (p: number) => string) =>
    keyspace.all.map((p) => {
      const base = keyspace.partition(p);
      return { base, label: label(p), queue: open(base) };
    });
  const mine = of(current, (p) => `p${p}`);
  const partitions = [...mine, ...(previous ? of(previous, (p) => `previous:p${p}`) : [])];
  return {
    name,
    forUser: (userId) => (mine[current.partitionOf(userId)] as QueuePartition<J>).queue,
    partitions,
  };
}

/** A partitioned queue's queues with their partition labels. */
export function observedPartitions<J>(queue: PartitionedQueue<J>): ObservedQueue[] {
  return queue.partitions.map((p) => ({ queue: p.queue as Queue, partition: p.label }));
}

/** Producer-side queues. The caller owns `connection` and closes it after `close()`. */
export function createQueues(
  connection: ConnectionOptions,
  source: QueueLayoutSource,
  retry: RetryPolicy,
  logger: Logger,
): RequestQueues {
  const defaultJobOptions = requestJobOptions(retry);
  // No version check: BullMQ asks each queue's connection for INFO once, at construction, and
  // keeps the outcome for the queue's lifetime. On the API's fail-fast connection an INFO that
  // timed out (a busy host at start-up, 33 queues with 16 partitions) left that partition's
  // queue failing every add until a restart: every accept of its users a 503. The version is
  // a deployment requirement (README: Redis ≥ 6.2), and producers use no version-dependent
  // command.
  const common = { connection, skipVersionCheck: true };
  const charges = partitionedQueue<ChargeJob>(
    CHARGES_QUEUE,
    source,
    (prefix) => new Queue(CHARGES_QUEUE, { ...common, prefix, defaultJobOptions }),
  );
  const orders = partitionedQueue<OrderJob>(
    ORDERS_QUEUE,
    source,
    (prefix) => new Queue(ORDERS_QUEUE, { ...common, prefix, defaultJobOptions }),
  );
  const cancellations = partitionedQueue<CancellationJob>(
    CANCELLATIONS_QUEUE,
    source,
    (prefix) => new Queue(CANCELLATIONS_QUEUE, { ...common, prefix, defaultJobOptions }),
  );
  const events = new Queue<EventsJob>(EVENTS_QUEUE, {
    ...common,
    prefix: layoutOf(source).current.shared('events'),
    defaultJobOptions: eventJobOptions(),
  });
  const all = (): Queue[] => [
    ...charges.partitions.map((p) => p.queue as Queue),
    ...orders.partitions.map((p) => p.queue as Queue),
    ...cancellations.partitions.map((p) => p.queue as Queue),
    events as Queue,
  ];
  // Without a listener BullMQ prints every connection error to the console.
  for (const queue of all()) {
    queue.on('error', (error) => {
      logger.warn('queue error', { queue: queue.name, error: error.message });
    });
  }
  return {
    charges,
    orders,
    cancellations,
    events,
    all,
    observed: () => [
      ...observedPartitions(charges),
      ...observedPartitions(orders),
      ...observedPartitions(cancellations),
      { queue: events as Queue, partition: 'all' },
    ],
    async close() {
      await Promise.allSettled(all().map((queue) => queue.close()));
    },
  };
}
