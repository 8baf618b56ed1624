import { Queue, type ConnectionOptions } from 'bullmq';
import type { Logger } from '../logger';
import type { JobPayload } from './batch';
import { CHARGES_QUEUE, type ChargeJob } from './charges';
import { EVENTS_QUEUE, eventJobOptions, type EventJob } from './events';
import { requestJobOptions, type RetryPolicy } from './options';
import { ORDERS_QUEUE, type OrderJob } from './orders';

export interface RequestQueues {
  charges: Queue<JobPayload<ChargeJob>>;
  orders: Queue<JobPayload<OrderJob>>;
  /** Order events to the data platform (Bull Board, ops); their own retry policy. */
  events: Queue<EventJob>;
  close(): Promise<void>;
}

/** Producer-side queues. The caller owns `connection` and closes it after `close()`. */
export function createQueues(
  connection: ConnectionOptions,
  prefix: string,
  retry: RetryPolicy,
  logger: Logger,
): RequestQueues {
  const defaultJobOptions = requestJobOptions(retry);
  const charges = new Queue<JobPayload<ChargeJob>>(CHARGES_QUEUE, {
    connection,
    prefix,
    defaultJobOptions,
  });
  const orders = new Queue<JobPayload<OrderJob>>(ORDERS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions,
  });
  const events = new Queue<EventJob>(EVENTS_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: eventJobOptions(),
  });
  // Without a listener BullMQ prints every connection error to the console.
  for (const queue of [charges, orders, events] as Queue[]) {
    queue.on('error', (error) => {
      logger.warn('queue error', { queue: queue.name, error: error.message });
    });
  }
  return {
    charges,
    orders,
    events,
    async close() {
      await Promise.allSettled([charges.close(), orders.close(), events.close()]);
    },
  };
}
