import { QueryTypes, type Sequelize } from 'sequelize';

/**
 * What a replica says about its replication: the lag in whole seconds while both replication
 * threads run, or why there is no lag to tell.
 */
export type ReplicationStatus =
  | { replicating: true; lagS: number }
  | {
      replicating: false;
      why: 'not a replica' | 'io thread not running' | 'sql thread not running' | 'lag unknown';
    };

type StatusRow = Record<string, unknown>;

/** The first of `names` the row has (MariaDB and MySQL < 8.0.22 vs MySQL's newer names). */
const column = (row: StatusRow, ...names: string[]): unknown =>
  names.map((name) => row[name]).find((value) => value !== undefined);

/**
 * Reads one row of `SHOW REPLICA STATUS`. `Seconds_Behind_Master` is NULL while the SQL
 * thread is stopped or the IO thread never connected; a thread that is `Connecting` (the link
 * to the primary is down and being retried) is not running either: its lag would be the lag
 * of what it last received, not of the primary.
 */
export function replicationStatus(row: StatusRow | undefined): ReplicationStatus {
  if (row === undefined) return { replicating: false, why: 'not a replica' };
  if (column(row, 'Slave_IO_Running', 'Replica_IO_Running') !== 'Yes') {
    return { replicating: false, why: 'io thread not running' };
  }
  if (column(row, 'Slave_SQL_Running', 'Replica_SQL_Running') !== 'Yes') {
    return { replicating: false, why: 'sql thread not running' };
  }
  const lag = column(row, 'Seconds_Behind_Master', 'Seconds_Behind_Source');
  const lagS = lag === null || lag === undefined ? NaN : Number(lag);
  return Number.isFinite(lagS) && lagS >= 0
    ? { replicating: true, lagS }
    : { replicating: false, why: 'lag unknown' };
}

/** MySQL/MariaDB's errno for a statement the server cannot parse. */
const ER_PARSE_ERROR = 1064;

function errnoOf(error: unknown): unknown {
  const parent =
    typeof error === 'object' && error !== null
      ? (error as { parent?: { errno?: unknown } }).parent
      : undefined;
  return parent?.errno;
}

/**
 * Asks a replica for its replication status. `SHOW REPLICA STATUS` (MariaDB ≥ 10.5.1, MySQL ≥
 * 8.0.22; MySQL 8.4 knows nothing else) first; a server that cannot parse it gets `SHOW SLAVE
 * STATUS`, and is asked that way from then on. Needs the `SLAVE MONITOR` (MariaDB) or
 * `REPLICATION CLIENT` privilege; without it the call fails, and the replica is never used.
 */
export function createReplicationProbe(sequelize: Sequelize): () => Promise<ReplicationStatus> {
  let statement = 'SHOW REPLICA STATUS';
  return async () => {
    try {
      const rows = await sequelize.query<StatusRow>(statement, { type: QueryTypes.SELECT });
      return replicationStatus(rows[0]);
    } catch (error) {
      if (statement === 'SHOW SLAVE STATUS' || errnoOf(error) !== ER_PARSE_ERROR) throw error;
      statement = 'SHOW SLAVE STATUS';
      const rows = await sequelize.query<StatusRow>(statement, { type: QueryTypes.SELECT });
      return replicationStatus(rows[0]);
    }
  };
}
