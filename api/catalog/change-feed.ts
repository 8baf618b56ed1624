import type { Logger } from '../../shared/logger';
import { messageOf } from '../../shared/infra-errors';

export interface ChangeFeedOptions {
  /** Ids of products whose updated_at is at or after `since` (database time). */
  changedSince(since: Date): Promise<{ ids: number[]; now: Date }>;
  onChange(ids: number[]): Promise<void>;
  logger: Logger;
  intervalMs?: number;
  /**
   * How far back each poll looks. updated_at is stamped when a statement runs, not when its
   * transaction commits, so a change can become visible after a poll went past its stamp;
   * looking back further than any transaction lasts catches it (lock waits end at 5 s). Polls
   * that may read a replica add its lag bound: there a change becomes visible that much later
   * still, and the watermark of a poll on the primary is that much ahead of the replica.
   * Default 6,000 ms.
   */
  overlapMs?: number;
}

/**
 * Notices product changes however they were made — workers selling stock, an operator's SQL
 * restock — by polling `products.updated_at` (indexed) once a second, and reports them so
 * caches can drop those products. Every API process runs its own, so all of them refresh
 * within about a second of a change.
 */
export function startChangeFeed(options: ChangeFeedOptions): { stop(): void } {
  const intervalMs = options.intervalMs ?? 1_000;
  const overlapMs = options.overlapMs ?? 6_000;
  let watermark: Date | undefined;
  let running = false;

  const poll = async () => {
    if (running) return;
    running = true;
    try {
      const since = new Date((watermark?.getTime() ?? Date.now()) - overlapMs);
      const { ids, now } = await options.changedSince(since);
      watermark = now;
      if (ids.length > 0) await options.onChange(ids);
    } catch (error) {
      options.logger.debug('product change feed poll failed', { error: messageOf(error) });
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => {
    void poll();
  }, intervalMs);
  timer.unref();
  void poll();
  return {
    stop() {
      clearInterval(timer);
    },
  };
}
