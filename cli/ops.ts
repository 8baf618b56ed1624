import type { Queue } from 'bullmq';
import { loadConfig, type Config } from '../shared/config';
import { createCancellationsRepository } from '../shared/db/repositories/cancellations';
import { createChargesRepository } from '../shared/db/repositories/charges';
import { createEventsRepository } from '../shared/db/repositories/events';
import { createOrdersRepository } from '../shared/db/repositories/orders';
import { createStockRepository } from '../shared/db/repositories/stock';
import { inTransaction } from '../shared/db/transaction';
import { SALES_KEPT_HOURS } from '../shared/catalog/top-sellers';
import { createSequelizeFromConfig } from '../shared/db/sequelize';
import { createLogger } from '../shared/logger';
import { createQueues, type RequestQueues } from '../shared/queues';
import { createRedisClient } from '../shared/redis';
import { createRequestRecords } from '../shared/requests/records';
import { runEvents, runReplayEvents } from './ops/events';
import { runQueues, runListOnHold, runPause, runRetryFailed } from './ops/queues';
import { runReconcile } from './ops/reconcile';
import { runReplayOnHold } from './ops/replay-on-hold';
import { messageOf } from '../shared/infra-errors';

const HELP = `usage: npm run ops -- <command> [queue | time]

  reconcile [time]   check every contract invariant against the database and count the
                     accepted requests stuck for over STUCK_AFTER_S (repairing the Redis
                     records the database has final); prints what drifted and what is
                     stuck, and exits 1 if anything did or is. With an ISO 8601 time
                     (2026-12-05T10:00:00Z), the checks read only the rows written since
                     then, as the workers' recent runs do: cheap, and blind to older rows
  queues             depth per state, completed/failed per minute, oldest waiting job
  on-hold            list ON_HOLD (failed) jobs with the reason of their last failure
  replay-on-hold     re-queue every ON_HOLD charge, order and cancellation (failed jobs, and
                     ON_HOLD rows whose job is gone); applying them stays exactly-once
  retry-failed <q>   move the failed jobs of queue <q> back to waiting, attempts reset
  pause <q>          stop workers taking new jobs from queue <q> (active ones finish)
  resume <q>         let them take jobs again
  events             order events to the data platform: counts by status, oldest
                     undelivered, the latest DEAD ones with their last error
  replay-events      DEAD events back to PENDING with fresh attempts, re-queued; failed
                     jobs of the events queue retried
  rebuild-sales      recompute the hourly sales sums the top-sellers ranking reads, for the
                     hours it keeps, from the PAID orders (after reconcile names drift in
                     top-sellers-sums); orders and cancellations wait while it runs
  help               this text

queues: charges, orders, events`;

const out = (line: string) => {
  process.stdout.write(`${line}\n`);
};

type Command = (config: Config, arg: string | undefined) => Promise<number>;

/** Runs `work` with queues over a Redis connection it opens and closes. */
async function withQueues(
  config: Config,
  work: (queues: RequestQueues, redis: ReturnType<typeof createRedisClient>) => Promise<number>,
) {
  const logger = createLogger({ level: 'error', service: 'ops' });
  const redis = createRedisClient(config.redis, 'worker', logger);
  const queues = createQueues(redis, config.redis, config.jobs, logger);
  try {
    return await work(queues, redis);
  } finally {
    await queues.close();
    await redis.quit();
  }
}

/** Every partition's queue of that name. */
function pick(queues: RequestQueues, name: string | undefined): Queue[] {
  const picked = queues.observed().filter((o) => o.queue.name === name);
  if (picked.length === 0) {
    throw new UsageError(
      `name a queue: charges, orders, cancellations or events (got ${name ?? 'nothing'})`,
    );
  }
  return picked.map((o) => o.queue);
}

class UsageError extends Error {}

/** The request queues of every partition (events have their own commands). */
const all = (queues: RequestQueues) => queues.observed().filter((o) => o.partition !== 'all');

const commands: Record<string, Command> = {
  async reconcile(config, time) {
    const since = time === undefined ? undefined : Date.parse(time);
    if (since !== undefined && !(/^\d{4}-\d\d-\d\dT/.test(time ?? '') && Number.isFinite(since))) {
      throw new UsageError(
        `reconcile takes an ISO 8601 time, e.g. 2026-12-05T10:00:00Z (got ${time ?? ''})`,
      );
    }
    const logger = createLogger({ level: 'error', service: 'ops' });
    const sequelize = createSequelizeFromConfig(config);
    // A few retries, then an error: a command must not wait forever on a Redis that is down.
    const redis = createRedisClient(config.redis, 'worker', logger, { maxRetriesPerRequest: 2 });
    try {
      const problems = await runReconcile(
        { sequelize, records: createRequestRecords(redis, config.redis), logger },
        { stuckAfterS: config.reconcile.stuckAfterS, ...(since === undefined ? {} : { since }) },
        out,
      );
      return problems === 0 ? 0 : 1;
    } finally {
      await sequelize.close();
      await redis.quit();
    }
  },
  queues: (config) =>
    withQueues(config, async (queues) => {
      await runQueues(all(queues), out);
      return 0;
    }),
  'on-hold': (config) =>
    withQueues(config, async (queues) => {
      await runListOnHold(all(queues), out);
      return 0;
    }),
  'retry-failed': (config, name) =>
    withQueues(config, async (queues) => {
      for (const queue of pick(queues, name)) await runRetryFailed(queue, out);
      return 0;
    }),
  pause: (config, name) =>
    withQueues(config, async (queues) => {
      for (const queue of pick(queues, name)) await runPause(queue, true, out);
      return 0;
    }),
  resume: (config, name) =>
    withQueues(config, async (queues) => {
      for (const queue of pick(queues, name)) await runPause(queue, false, out);
      return 0;
    }),
  events: (config) =>
    withQueues(config, async (queues) => {
      const sequelize = createSequelizeFromConfig(config);
      try {
        await runEvents({ events: createEventsRepository(sequelize), queue: queues.events }, out);
        return 0;
      } finally {
        await sequelize.close();
      }
    }),
  'replay-events': (config) =>
    withQueues(config, async (queues) => {
      const sequelize = createSequelizeFromConfig(config);
      try {
        await runReplayEvents(
          { events: createEventsRepository(sequelize), queue: queues.events },
          out,
        );
        return 0;
      } finally {
        await sequelize.close();
      }
    }),
  async 'rebuild-sales'(config) {
    const sequelize = createSequelizeFromConfig(config);
    try {
      const since = new Date(Date.now() - SALES_KEPT_HOURS * 3_600_000);
      const stock = createStockRepository(sequelize);
      const rows = await inTransaction(sequelize, (tx) => stock.rebuildSales(tx, since));
      out(`rebuilt the sales sums since ${since.toISOString()}: ${String(rows)} product-hours`);
      return 0;
    } finally {
      await sequelize.close();
    }
  },
  'replay-on-hold': (config) =>
    withQueues(config, async (queues, redis) => {
      const sequelize = createSequelizeFromConfig(config);
      try {
        await runReplayOnHold(
          {
            queues,
            records: createRequestRecords(redis, config.redis),
            onHoldOrders: () => createOrdersRepository(sequelize).onHoldJobs(),
            onHoldCharges: () => createChargesRepository(sequelize).onHoldJobs(),
            onHoldCancellations: () => createCancellationsRepository(sequelize).onHoldJobs(),
          },
          out,
        );
        return 0;
      } finally {
        await sequelize.close();
      }
    }),
};

async function main(): Promise<number> {
  const [name = 'help', arg] = process.argv.slice(2);
  if (name === 'help' || name === '--help' || name === '-h') {
    out(HELP);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command: ${name}\n\n${HELP}\n`);
    return 2;
  }
  try {
    return await command(loadConfig(), arg);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(messageOf(error));
    process.exit(1);
  },
);
