import type { Queue } from 'bullmq';
import { messageOf } from '../../shared/infra-errors';
import type { EventsRepository } from '../../shared/db/repositories/events';
import type { Logger } from '../../shared/logger';
import { eventJobId, requeueEvent, type EventsJob } from '../../shared/queues/events';
import type { DbBreaker } from '../../shared/resilience/breaker';

export interface SweeperOptions {
  queue: Queue<EventsJob>;
  events: EventsRepository;
  breaker: DbBreaker;
  logger: Logger;
  /** How often to look (default 5 s). */
  intervalMs: number;
  /** A PENDING row never confirmed enqueued is the sweeper's once it is this old (default 5 s). */
  graceMs: number;
  /**
   * A PENDING row whose job gave no sign of life for this long is checked again (default 2 h:
   * longer than the longest retry delay, jitter included).
   */
  silentMs: number;
  /** Rows per look, per kind (default 500). */
  batch: number;
}

export interface Sweeper {
  /** One pass now; resolves to the number of rows it handed to the queue. */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Makes sure every PENDING event has a job: those the relay missed (enqueue failed, or the
 * process died between commit and enqueue) and those whose job vanished (Redis lost it).
 *
 * Several worker processes may sweep at once without coordinating: the job id is the event id,
 * so a second `add` is a no-op, and a job that exists is left as it is — except a failed one
 * for a row still PENDING (its DEAD mark never landed, or a replay stopped half-way), which
 * gets its attempts back because the row says it is still to be delivered.
 */
export function startSweeper(options: SweeperOptions): Sweeper {
  const { queue, events, breaker, logger } = options;

  const relayOne = async (eventId: string): Promise<boolean> => {
    const state = await queue.getJobState(eventJobId(eventId));
    if (state === 'failed') {
      // The last attempt may have marked it DEAD since the rows were read: then it stays so.
      const row = await breaker.run(() => events.find(eventId));
      if (row?.status !== 'PENDING') return false;
    }
    return (await requeueEvent(queue, eventId, state)) !== 'present';
  };

  const sweep = async (): Promise<number> => {
    const now = Date.now();
    const ids = await breaker.run(() =>
      events.dueForRelay(
        new Date(now - options.graceMs),
        new Date(now - options.silentMs),
        options.batch,
      ),
    );
    let handed = 0;
    for (const id of ids) if (await relayOne(id)) handed++;
    await breaker.run(() => events.markEnqueued(ids, new Date()));
    if (handed > 0) logger.info('sweeper enqueued events', { events: handed, checked: ids.length });
    return handed;
  };

  let running: Promise<unknown> | undefined;
  const tick = () => {
    // One pass at a time: a slow pass (database or Redis struggling) is not stacked on.
    running ??= sweep()
      .catch((error: unknown) => {
        logger.warn('event sweep failed: retrying next interval', {
          error: messageOf(error),
        });
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  // At start too: events recorded while delivery was off (or the process was down) go now.
  tick();

  return {
    sweep,
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
