import { createKeyspace, keySlot } from '../../shared/keyspace';
import type { Clients } from './clients';

/** What happened to the cluster, epoch ms (see `killMaster` in `run.ts`). */
export interface FailoverTimeline {
  killedPort: number;
  promotedPort: number;
  /** The slot ranges the killed master served. */
  slots: [number, number][];
  killedAt: number;
  /** Every slot served by a live master again, cluster state ok on every live node. */
  promotedAt: number;
  /** The killed node started again (as a supervisor would). */
  restartedAt: number;
  /** It is the promoted master's replica and in sync: the cluster at full strength. */
  replicaOnlineAt: number;
}

/** The failover as the clients lived it; every time from the kill. */
export interface FailoverFigures {
  killedPort: number;
  promotedPort: number;
  /** Partitions the killed master served (of the scenario's 16). */
  partitionsOnKilledMaster: number[];
  promotedMs: number;
  restartedMs: number;
  replicaOnlineMs: number;
  /** The first 202 to a submit sent after the kill (any partition). */
  firstAcceptMs: number | null;
  /** The first 202 to an order first sent after the kill by a user of the killed master. */
  firstAcceptOnKilledMasterMs: number | null;
  /** Accepted orders never final nor ON_HOLD: in all, and of users of the killed master. */
  lost: number;
  lostOnKilledMaster: number;
  /**
   * Of the lost, those the database has all the same (a worker held the job when its Redis
   * record vanished, or applied it after the clients stopped polling): not lost money-wise.
   */
  lostButApplied: number;
  /** Orders of users of the killed master accepted in the second before the kill. */
  acceptedOnKilledMasterInLastSecond: number;
}

export function failoverFigures(
  timeline: FailoverTimeline,
  clients: Clients,
  prefix: string,
  partitions: number,
  /** Ids the database has an order row for. */
  applied: ReadonlySet<string>,
): FailoverFigures {
  const keyspace = createKeyspace(prefix, partitions, true);
  const onKilled = keyspace.all.filter((p) => {
    const slot = keySlot(keyspace.partition(p));
    return timeline.slots.some(([a, b]) => slot >= a && slot <= b);
  });
  const isOnKilled = (userId: number) => onKilled.includes(keyspace.partitionOf(userId));
  const { killedAt } = timeline;
  const since = (at: number | null) => (at === null ? null : at - killedAt);
  const firstAccept = clients.samples
    .filter((s) => s.kind === 'submit' && s.status === 202 && s.at >= killedAt)
    .reduce<number | null>((min, s) => Math.min(min ?? Infinity, s.at + s.ms), null);
  const killedOrders = clients.orders.filter((o) => isOnKilled(o.userId));
  const firstOnKilled = killedOrders
    .filter((o) => o.firstTryAt >= killedAt && o.acceptedAt !== undefined)
    .reduce<number | null>((min, o) => Math.min(min ?? Infinity, o.acceptedAt ?? Infinity), null);
  const lostOf = (orders: typeof clients.orders) =>
    orders.filter((o) => o.id !== undefined && o.resolvedAt === undefined);
  const lost = (orders: typeof clients.orders) => lostOf(orders).length;
  return {
    killedPort: timeline.killedPort,
    promotedPort: timeline.promotedPort,
    partitionsOnKilledMaster: onKilled,
    promotedMs: timeline.promotedAt - killedAt,
    restartedMs: timeline.restartedAt - killedAt,
    replicaOnlineMs: timeline.replicaOnlineAt - killedAt,
    firstAcceptMs: since(firstAccept),
    firstAcceptOnKilledMasterMs: since(firstOnKilled),
    lost: lost(clients.orders),
    lostOnKilledMaster: lost(killedOrders),
    lostButApplied: lostOf(clients.orders).filter((o) => applied.has(o.id ?? '')).length,
    acceptedOnKilledMasterInLastSecond: killedOrders.filter(
      (o) =>
        o.acceptedAt !== undefined && o.acceptedAt >= killedAt - 1_000 && o.acceptedAt < killedAt,
    ).length,
  };
}
