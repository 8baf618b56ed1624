import { AppError } from '../../shared/errors';
import { uuidv7 } from '../../shared/ids';
import { fingerprint, type TrackedKind, type TrackingStore } from '../../shared/tracking/store';

/** `Idempotency-Key`: 1..255 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function requireIdempotencyKey(header: string | undefined): string {
  if (header === undefined || !IDEMPOTENCY_KEY.test(header)) {
    throw new AppError('IDEMPOTENCY_KEY_REQUIRED', {
      detail: 'Send an Idempotency-Key header of 1..255 visible ASCII characters',
    });
  }
  return header;
}

/** Where accepted jobs go: a BullMQ queue. */
export interface JobSink<J> {
  add(name: string, data: J, opts: { jobId: string }): Promise<unknown>;
}

export interface AcceptRequest<J> {
  kind: TrackedKind;
  queue: JobSink<J>;
  userId: number;
  idempotencyKey: string;
  /** The validated body; its canonical JSON is the idempotency fingerprint. */
  body: object;
  /** The job for a new id; called again with the first id when a replay re-enqueues it. */
  makeJob(id: string, acceptedAt: string): J;
  pendingView(job: J): object;
}

export interface Accepted {
  id: string;
  replayed: boolean;
}

/**
 * Accepts a request without touching MySQL: one atomic Redis step claims the idempotency key
 * and records the PENDING status, then the job is enqueued under a deterministic id.
 *
 * A replay (same key, same body) answers with the first id. If the first request's enqueue
 * never happened (its process died in between), the replay enqueues it; adding a job id that
 * exists is a no-op, so concurrent replays cannot enqueue twice.
 */
export async function acceptRequest<J>(
  tracking: TrackingStore,
  request: AcceptRequest<J>,
): Promise<Accepted> {
  const { kind, queue, userId, idempotencyKey } = request;
  const fp = fingerprint(request.body);
  const id = uuidv7();
  const job = request.makeJob(id, new Date().toISOString());
  const reservation = await tracking.reserve(
    kind,
    userId,
    idempotencyKey,
    fp,
    id,
    request.pendingView(job),
  );

  if (reservation.reserved) {
    // If this fails the client gets a 503 — but the add may have happened (a timeout after
    // Redis did the work). The key stays claimed, so the client's retry with the same key
    // replays this id and re-adds the job under the same job id, which is a no-op if it exists.
    await queue.add(kind, job, { jobId: id });
    return { id, replayed: false };
  }

  if (reservation.fingerprint !== fp) {
    throw new AppError('IDEMPOTENCY_KEY_REUSED', {
      detail: 'This Idempotency-Key was first used with a different request body',
    });
  }
  const first = await tracking.get(kind, reservation.id);
  if (first?.status === 'PENDING') {
    const { createdAt } = JSON.parse(first.view) as { createdAt: string };
    await queue.add(kind, request.makeJob(reservation.id, createdAt), { jobId: reservation.id });
  }
  return { id: reservation.id, replayed: true };
}
