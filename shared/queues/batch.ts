import { z } from 'zod';

/**
 * What a job of the charge or order queue carries: one request (the job id is then the
 * request's id: replays and `ops replay-on-hold` add these), or a batch of requests accepted
 * together by one API process (the accept path's micro-batches; BullMQ assigns the job id).
 * A batch costs Redis one job instead of one per request, at both ends of the queue; every
 * request in it is still applied, retried, put ON_HOLD and reported on its own.
 */
export type JobPayload<J> = J | RequestBatch<J>;

export interface RequestBatch<J> {
  requests: J[];
}

/** The most requests one job carries (and one accept batch reserves). */
export const MAX_REQUESTS_PER_JOB = 64;

/** Reads the requests of a job, validated; `null` if the payload is neither shape. */
export function requestsParser<J>(schema: z.ZodType<J>): (data: unknown) => J[] | null {
  const batch = z.object({ requests: z.array(schema).min(1).max(MAX_REQUESTS_PER_JOB) }).strict();
  return (data) => {
    const many = batch.safeParse(data);
    if (many.success) return many.data.requests;
    const one = schema.safeParse(data);
    return one.success ? [one.data] : null;
  };
}

export function isBatch<J>(data: JobPayload<J>): data is RequestBatch<J> {
  return typeof data === 'object' && data !== null && 'requests' in data;
}
