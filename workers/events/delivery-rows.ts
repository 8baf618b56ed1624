import type { EventRecord, EventsRepository } from '../../shared/db/repositories/events';
import { createGroupCommit } from '../jobs/group-commit';

/** What one delivery reads and writes of its outbox row. */
export interface DeliveryRows {
  find(id: string): Promise<EventRecord | undefined>;
  /** Records a 2xx (a row already DELIVERED is left as it is). */
  markDelivered(id: string): Promise<void>;
  /** Records a failed attempt: PENDING again (a retry follows) or DEAD (none does). */
  markFailed(id: string, error: string, dead: boolean, at: Date): Promise<void>;
}

/** Rows read, or marked, by one statement at most. */
const MAX_BATCH = 64;

/**
 * The outbox rows of the deliveries a worker has in flight, grouped as orders are
 * (`../jobs/group-commit.ts`): the rows looked up at the same moment are read by one SELECT,
 * and the acknowledgements that arrive at the same moment are marked DELIVERED by one UPDATE,
 * one commit. Under light load a group is one delivery, by the same statements. A failed
 * attempt is marked alone: it is rare, and its error text is its own. Why: a statement and a
 * commit per read and per acknowledgement made delivering an event cost the database more
 * than paying its order (load/REPORT.md, "Event delivery").
 */
export function groupedDeliveryRows(events: EventsRepository): DeliveryRows {
  const finds = createGroupCommit<string, EventRecord | undefined>(async (ids) => {
    const rows = await events.findMany(ids);
    return ids.map((id) => ({ status: 'fulfilled', value: rows.get(id) }));
  }, MAX_BATCH);
  const acknowledgements = createGroupCommit<string, undefined>(async (ids) => {
    await events.markDelivered(ids, new Date());
    return ids.map(() => ({ status: 'fulfilled', value: undefined }));
  }, MAX_BATCH);
  return {
    find: (id) => finds.place(id),
    markDelivered: (id) => acknowledgements.place(id),
    markFailed: (id, error, dead, at) => events.markFailed(id, error, dead, at),
  };
}
