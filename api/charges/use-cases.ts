import type { ChargesRepository } from '../../shared/db/repositories/charges';
import type { ChargeJob } from '../../shared/queues/charges';
import type { RequestRecords } from '../../shared/requests/records';
import { unappliedChargeView } from '../../shared/views';
import { createAcceptPath, type AcceptLimits, type JobSink } from '../accepts/accept-path';
import { readStatus, type JobSource } from '../accepts/status';

export interface ChargesDeps {
  records: RequestRecords;
  queue: JobSink<ChargeJob> & JobSource<ChargeJob>;
  /** Replica acknowledgements and the per-user rate limit every accept is held to. */
  limits?: AcceptLimits;
  charges: ChargesRepository;
}

export function createChargesService({ records, queue, charges, limits }: ChargesDeps) {
  const accepts = createAcceptPath<ChargeJob>('charge', records, queue, limits);
  return {
    /** Requests per job this process has enqueued lately (see `createAcceptPath`). */
    requestsPerJob: accepts.requestsPerJob,

    /** Whether the user's Idempotency-Key was used before (a request with it replays). */
    isKeyUsed: (userId: number, key: string) => records.isKeyUsed('charge', userId, key),

    accept(
      userId: number,
      idempotencyKey: string,
      body: { amount: number },
      requestId: string,
      refuseNew: boolean,
    ) {
      return accepts.accept({
        userId,
        idempotencyKey,
        body,
        refuseNew,
        makeJob: (chargeId, acceptedAt): ChargeJob => ({
          chargeId,
          userId,
          amount: body.amount,
          idempotencyKey,
          requestId,
          acceptedAt,
        }),
        pendingView: (job) => unappliedChargeView(job, 'PENDING'),
      });
    },

    status(userId: number, chargeId: string) {
      return readStatus(
        {
          kind: 'charge',
          records,
          queue,
          fromDatabase: (id) => charges.findView(id),
          fromJob: (job, active) => unappliedChargeView(job, active ? 'PROCESSING' : 'PENDING'),
        },
        chargeId,
        userId,
      );
    },
  };
}

export type ChargesService = ReturnType<typeof createChargesService>;
