import { AppError, serviceUnavailable } from '../../shared/errors';
import { waitForReplicas } from '../../shared/redis';
import { isoTime } from '../../shared/clock';
import { uuidv7 } from '../../shared/ids';
import { MAX_REQUESTS_PER_JOB, type JobPayload } from '../../shared/queues/batch';
import {
  fingerprint,
  type Reservation,
  type ReserveRequest,
  type RequestKind,
  type RateLimit,
  type RequestRecords,
} from '../../shared/requests/records';

/** `Idempotency-Key`: 1..255 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function isIdempotencyKey(header: unknown): header is string {
  return typeof header === 'string' && IDEMPOTENCY_KEY.test(header);
}

export function requireIdempotencyKey(header: unknown): string {
  if (!isIdempotencyKey(header)) {
    throw new AppError('IDEMPOTENCY_KEY_REQUIRED', {
      detail: 'Send an Idempotency-Key header of 1..255 visible ASCII characters',
    });
  }
  return header;
}

/** How many of the last jobs' sizes the requests-per-job figure averages. */
const RECENT_JOBS = 256;

/** Where accepted jobs go: the BullMQ queue of the user's partition. */
export interface JobSink<J> {
  forUser(userId: number): {
    add(name: string, data: JobPayload<J>, opts?: { jobId: string }): Promise<unknown>;
  };
}

/**
 * `REDIS_MIN_REPLICAS_ACK`: with `replicas` ≥ 1, an accept is answered only once that many
 * replicas acknowledged its writes (Redis WAIT, at most `timeoutMs`); else it fails with 503
 * and the client retries with the same key (the outcome is unknown, the key stays claimed).
 */
export interface ReplicaAck {
  replicas: number;
  timeoutMs: number;
  /** Called each time too few replicas acknowledged (a metric). */
  onUnacknowledged?: () => void;
}

/** What an accept waits for, and what it is counted against. */
export interface AcceptLimits {
  replicaAck?: ReplicaAck;
  /** `RATE_LIMIT_PER_MINUTE`, counted in the accept's own script (no extra round trip). */
  rate?: RateLimit;
}

export interface AcceptRequest<J> {
  userId: number;
  idempotencyKey: string;
  /** The validated body; its canonical JSON is the idempotency fingerprint. */
  body: object;
  /** The job for a new id; called again with the first id when a replay re-enqueues it. */
  makeJob(id: string, acceptedAt: string): J;
  pendingView(job: J): object;
  /**
   * Admission control refuses new work: a replay is still answered, a new request is not
   * accepted (nothing is written) and {@link AcceptPath.accept} answers it refused.
   */
  refuseNew: boolean;
  /** Kept with the key and given back to replays: what the first answer said beyond its id. */
  answer?: string;
}

export interface Accepted {
  id: string;
  replayed: boolean;
  /** What the first answer said beyond its id (`AcceptRequest.answer`), '' if nothing. */
  answer: string;
}

/**
 * An accept's outcome: accepted (or replayed), or refused with nothing written — by admission
 * control, or by the user's rate limit (with how long until a request would be allowed).
 */
export type AcceptOutcome =
  | { accepted: Accepted }
  | { refused: 'admission' }
  | { refused: 'rate'; retryAfterSeconds: number };

interface Waiting<J> {
  request: ReserveRequest;
  job: J;
  resolve(reservation: Reservation): void;
  reject(error: unknown): void;
}

/**
 * The accept path of one kind (orders or charges) in one API process: claims idempotency keys
 * and enqueues jobs without touching MySQL.
 *
 * Accepts are micro-batched: those that arrive in the same turn of the event loop share one
 * Redis script (every key claimed and every PENDING record written, atomically per request)
 * and one BullMQ job carrying all the new requests — at most {@link MAX_REQUESTS_PER_JOB}.
 * Nothing waits for a batch to fill: a lone accept is flushed on the next turn as a job of its
 * own under its own id, exactly as without batching. Why: each accept cost Redis two scripts
 * (reservation, BullMQ add) and as many again per job in the workers (fetch, complete); a
 * batch pays them once (figures: load/REPORT.md, "Optimisations, before and after").
 */
export function createAcceptPath<J>(
  kind: RequestKind,
  records: RequestRecords,
  queue: JobSink<J>,
  limits: AcceptLimits = {},
) {
  const ack = limits.replicaAck ?? { replicas: 0, timeoutMs: 0 };
  let waiting: Waiting<J>[] = [];
  // Sizes of the last jobs enqueued: admission control turns a queue's job count into an
  // estimate of its requests with their mean.
  const recent = new Uint8Array(RECENT_JOBS);
  let recentCount = 0;
  let recentSum = 0;
  const enqueued = (size: number) => {
    const slot = recentCount % RECENT_JOBS;
    recentSum += size - (recent[slot] ?? 0);
    recent[slot] = size;
    recentCount++;
  };

  async function flush(batch: Waiting<J>[]): Promise<void> {
    const userId = (batch[0] as Waiting<J>).request.userId;
    let reservations: Reservation[];
    try {
      reservations = await records.reserveMany(
        batch.map((w) => w.request),
        limits.rate,
      );
    } catch (error) {
      for (const w of batch) w.reject(error);
      return;
    }
    const fresh = batch.filter((_, i) => reservations[i]?.reserved === true);
    let failure: { error: unknown } | undefined;
    try {
      const [only] = fresh;
      if (fresh.length > 0) enqueued(fresh.length);
      const partitionQueue = queue.forUser(userId);
      if (fresh.length === 1 && only) {
        await partitionQueue.add(kind, only.job, { jobId: only.request.id });
      } else if (fresh.length > 1) {
        await partitionQueue.add(kind, { requests: fresh.map((w) => w.job) });
      }
      if (fresh.length > 0 && ack.replicas > 0) await replicated(userId);
    } catch (error) {
      failure = { error };
    }
    for (const [i, w] of batch.entries()) {
      const reservation = reservations[i];
      if (!reservation) w.reject(new Error('the reservation script answered too few results'));
      else if (reservation.reserved && failure) w.reject(failure.error);
      else w.resolve(reservation);
    }
  }

  /** Throws unless enough replicas acknowledged this connection's writes to the partition. */
  async function replicated(userId: number): Promise<void> {
    const part = records.forUser(userId);
    const acked = await waitForReplicas(records.redis, part.base, ack.replicas, ack.timeoutMs);
    if (acked < ack.replicas) {
      ack.onUnacknowledged?.();
      throw serviceUnavailable(
        `Redis replicas did not acknowledge the accept in ${ack.timeoutMs} ms; retry with the same Idempotency-Key`,
      );
    }
  }

  /** One flush per partition and per {@link MAX_REQUESTS_PER_JOB}: one script, one job. */
  function schedule(): void {
    setImmediate(() => {
      const taken = waiting;
      waiting = [];
      const byPartition = new Map<string, Waiting<J>[]>();
      for (const w of taken) {
        const base = records.forUser(w.request.userId).base;
        const group = byPartition.get(base);
        if (group) group.push(w);
        else byPartition.set(base, [w]);
      }
      for (const group of byPartition.values()) {
        for (let i = 0; i < group.length; i += MAX_REQUESTS_PER_JOB) {
          void flush(group.slice(i, i + MAX_REQUESTS_PER_JOB));
        }
      }
    });
  }

  /** Claims the key and enqueues the job with whatever else arrived in this turn. */
  function reserveAndEnqueue(request: ReserveRequest, job: J): Promise<Reservation> {
    return new Promise((resolve, reject) => {
      if (waiting.length === 0) schedule();
      waiting.push({ request, job, resolve, reject });
    });
  }

  /**
   * Accepts a request. A replay (same key, same body) answers with the first id, even while
   * new work is refused; a refused new request answers `null`. If the first
   * request's enqueue never happened (its process died in between, or the add failed and the
   * client got a 503), the replay enqueues it as a job of its own under its id; adding a job
   * id that exists is a no-op, and applying is exactly-once in the database, so a request that
   * is in a batch job too is still applied once.
   */
  async function accept(request: AcceptRequest<J>): Promise<AcceptOutcome> {
    const { userId, idempotencyKey } = request;
    const fp = fingerprint(request.body);
    const now = Date.now();
    const id = uuidv7(now);
    const acceptedAt = isoTime(now);
    const job = request.makeJob(id, acceptedAt);
    const reserve: ReserveRequest = {
      kind,
      userId,
      key: idempotencyKey,
      fingerprint: fp,
      id,
      acceptedAtMs: now,
      pendingView: request.pendingView(job),
      refuse: request.refuseNew,
    };
    if (request.answer !== undefined) reserve.answer = request.answer;
    const reservation = await reserveAndEnqueue(reserve, job);
    if (reservation.reserved)
      return { accepted: { id, replayed: false, answer: request.answer ?? '' } };
    if (reservation.refused === 'admission') return { refused: 'admission' };
    if (reservation.refused === 'rate') {
      return {
        refused: 'rate',
        retryAfterSeconds: Math.max(1, Math.ceil(reservation.retryAfterMs / 1_000)),
      };
    }

    if (reservation.fingerprint !== fp) {
      throw new AppError('IDEMPOTENCY_KEY_REUSED', {
        detail: 'This Idempotency-Key was first used with a different request body',
      });
    }
    const first = await records.get(kind, userId, reservation.id);
    if (first?.status === 'PENDING') {
      const { createdAt } = JSON.parse(first.view) as { createdAt: string };
      await queue
        .forUser(userId)
        .add(kind, request.makeJob(reservation.id, createdAt), { jobId: reservation.id });
    }
    // The first answer may not have reached a replica yet either (its client got a 503).
    if (ack.replicas > 0) await replicated(userId);
    return { accepted: { id: reservation.id, replayed: true, answer: reservation.answer } };
  }

  return {
    accept,
    /** Requests per job this process has enqueued lately (1 when accepts come one at a time). */
    requestsPerJob: () => (recentCount === 0 ? 1 : recentSum / Math.min(recentCount, RECENT_JOBS)),
  };
}

export type AcceptPath<J> = ReturnType<typeof createAcceptPath<J>>;
