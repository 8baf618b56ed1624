import { cacheTtls } from '../../api/catalog/use-cases';
import { ConfigError, loadConfig } from '../../shared/config';
import { replicationStatus } from '../../shared/db/replication';

/**
 * The read replica's settings and how its replication status is read. The replica itself, a
 * real mariadbd, is exercised in test/api/catalog-replica.test.ts.
 */
describe('DATABASE_REPLICA_URL and REPLICA_MAX_LAG_S', () => {
  it('When neither is set, then there is no replica and the lag bound is 2 s', () => {
    expect(loadConfig({}).database.replica).toEqual({ url: undefined, maxLagS: 2 });
  });

  it('When both are set, then the replica URL and the bound are parsed', () => {
    const config = loadConfig({
      DATABASE_REPLICA_URL: 'mariadb://reader:pw@replica.internal:3306/shop',
      REPLICA_MAX_LAG_S: '5',
    });
    expect(config.database.replica).toEqual({
      url: 'mariadb://reader:pw@replica.internal:3306/shop',
      maxLagS: 5,
    });
  });

  it.each([
    ['DATABASE_REPLICA_URL', 'postgres://replica/shop'],
    ['DATABASE_REPLICA_URL', 'not a url'],
    ['DATABASE_REPLICA_URL', 'mysql://root@replica:3306/'],
    ['DATABASE_REPLICA_URL', 'mysql://root@replica:3306/bad-name'],
    ['REPLICA_MAX_LAG_S', '0'],
    ['REPLICA_MAX_LAG_S', '1.5'],
    ['REPLICA_MAX_LAG_S', 'soon'],
  ])('When %s is %j, then the configuration is refused, naming it', (key, value) => {
    let error: unknown;
    try {
      loadConfig({ [key]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join('\n')).toContain(key);
  });
});

describe('Reading SHOW REPLICA STATUS', () => {
  const running = { Slave_IO_Running: 'Yes', Slave_SQL_Running: 'Yes' };

  it('When both threads run, then the lag is Seconds_Behind_Master', () => {
    expect(replicationStatus({ ...running, Seconds_Behind_Master: 3 })).toEqual({
      replicating: true,
      lagS: 3,
    });
  });

  it("When the server uses MySQL's newer column names, then they are read the same", () => {
    expect(
      replicationStatus({
        Replica_IO_Running: 'Yes',
        Replica_SQL_Running: 'Yes',
        Seconds_Behind_Source: '0',
      }),
    ).toEqual({ replicating: true, lagS: 0 });
  });

  it.each([
    [undefined, 'not a replica'],
    [
      { ...running, Slave_IO_Running: 'Connecting', Seconds_Behind_Master: 0 },
      'io thread not running',
    ],
    [
      { ...running, Slave_SQL_Running: 'No', Seconds_Behind_Master: null },
      'sql thread not running',
    ],
    [{ ...running, Seconds_Behind_Master: null }, 'lag unknown'],
  ])('When the status is %j, then there is no lag to trust: %s', (row, why) => {
    expect(replicationStatus(row)).toEqual({ replicating: false, why });
  });
});

describe('Catalog cache TTLs', () => {
  it('When the catalog reads the primary, then the TTLs are 2 s here and 2.5 s in Redis', () => {
    expect(cacheTtls(0)).toEqual({ localTtlMs: 2_000, redisTtlMs: 2_500 });
  });

  it('When it may read a replica up to 3 s behind, then the TTLs and that lag stay within 4.5 s', () => {
    const { localTtlMs, redisTtlMs } = cacheTtls(3_000);
    expect(localTtlMs + redisTtlMs + 3_000).toBeLessThanOrEqual(4_500);
    expect(localTtlMs).toBeGreaterThan(0);
  });

  it('When the lag bound is very large, then the TTLs keep a floor of 1 s in all', () => {
    const { localTtlMs, redisTtlMs } = cacheTtls(60_000);
    expect(localTtlMs + redisTtlMs).toBe(1_000);
  });
});
