import { isFinal } from '../../shared/views';
import type { RequestKind, RequestRecords } from '../../shared/requests/records';
import { UUID_PATTERN } from '../../shared/ids';
import { isBatch, type JobPayload } from '../../shared/queues/batch';

/** Jobs still in the queue, looked up by id: the BullMQ queue of the user's partition. */
export interface JobSource<J> {
  forUser(userId: number): {
    getJob(id: string): Promise<{ data: JobPayload<J>; getState(): Promise<string> } | undefined>;
  };
}

export interface StatusSources<J, V extends { userId: number; status: string }> {
  kind: RequestKind;
  records: RequestRecords;
  /** The recorded outcome, once a worker has written it. */
  fromDatabase(id: string): Promise<V | null>;
  queue: JobSource<J>;
  /** The view of a job still in the queue (its status record expired or was lost). */
  fromJob(job: J, active: boolean): V;
}

export interface StatusView {
  /** The JSON body, already serialised when it came from Redis. */
  json: string;
  final: boolean;
}

/**
 * Where a request stands, cheapest source first: the Redis status record (one HMGET — this is
 * what thousands of polling clients hit), then the database, then the queue. Other users'
 * requests are reported as missing, so ids do not leak.
 */
export async function readStatus<
  J extends { userId: number },
  V extends { userId: number; status: string },
>(sources: StatusSources<J, V>, id: string, userId: number): Promise<StatusView | null> {
  if (!UUID_PATTERN.test(id)) return null;
  const record = await sources.records.get(sources.kind, userId, id);
  if (record) {
    const view = JSON.parse(record.view) as { userId: number };
    if (view.userId !== userId) return null;
    return { json: record.view, final: isFinal(record.status) };
  }
  const stored = await sources.fromDatabase(id);
  if (stored) {
    return stored.userId === userId
      ? { json: JSON.stringify(stored), final: isFinal(stored.status) }
      : null;
  }
  // Only a job of one request has the request's id (a batch job's id is BullMQ's own).
  const job = await sources.queue.forUser(userId).getJob(id);
  if (!job || isBatch(job.data) || job.data.userId !== userId) return null;
  const view = sources.fromJob(job.data, (await job.getState()) === 'active');
  return { json: JSON.stringify(view), final: false };
}
