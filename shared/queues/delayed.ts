import type { Queue } from 'bullmq';

/**
 * When the queue's earliest delayed job (a retry after a backoff) falls due, Unix ms; null
 * when none is delayed. Only a working worker moves a due delayed job to the wait
 * list, so one that fell due a while ago means that no worker is taking the queue's jobs,
 * even when nothing waits. BullMQ scores a delayed job by its due time in ms × 0x1000 (plus a
 * counter below that), so the earliest is first in the set; test/faults/watchdog.test.ts pins
 * this encoding: a BullMQ that changed it fails there.
 */
export async function earliestDelayedDue(queue: Queue): Promise<number | null> {
  const client = await queue.backend.client;
  const [, score] = await client.zrange(queue.toKey('delayed'), 0, 0, { WITHSCORES: true });
  return score === undefined ? null : Math.floor(Number(score) / 0x1000);
}
