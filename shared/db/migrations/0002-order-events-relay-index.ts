import type { Migration } from '../migrator';
import { INDEX } from '../schema-names';

/**
 * The sweeper looks for PENDING events the queue may not know about (`enqueued_at` NULL or old).
 * With only (status, occurred_at) it would read every PENDING row on each sweep, and while the
 * data platform is down that is every event since the outage began; this keeps it a range scan.
 */
const up: Migration = async ({ context: sequelize }) => {
  await sequelize.query(
    `ALTER TABLE order_events ADD KEY ${INDEX.orderEventsStatusEnqueued} (status, enqueued_at, occurred_at)`,
  );
};

const down: Migration = async ({ context: sequelize }) => {
  await sequelize.query(`ALTER TABLE order_events DROP KEY ${INDEX.orderEventsStatusEnqueued}`);
};

export const migration = { name: '0002-order-events-relay-index', up, down };
