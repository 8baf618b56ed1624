import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../shared/config';
import {
  IMAGE_VARIABLE,
  ROOT,
  healthcheckCommand,
  parseEnvFile,
  readCompose,
  readText,
  type ComposeService,
} from './support';

/**
 * The read replica of docker-compose.yml's `cluster` profile, checked without a Docker engine:
 * a GTID replica of the primary that the application can use (docs/scale-out.md#read-replicas).
 */
const compose = readCompose();

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

const flags = (svc: ComposeService) =>
  typeof svc.command === 'string' ? svc.command.split(/\s+/) : (svc.command ?? []);

describe('docker-compose.yml, the cluster profile: the database replica', () => {
  test('the primary writes a row-based binary log from its first start, with a server id of its own', () => {
    expect(flags(service('mariadb'))).toEqual(
      expect.arrayContaining([
        '--server-id=1',
        '--log-bin',
        '--binlog-format=ROW',
        // The migrations create triggers as the application's user, which has no SUPER.
        '--log-bin-trust-function-creators=1',
      ]),
    );
    expect(service('mariadb').environment).toEqual(
      expect.objectContaining({
        MARIADB_REPLICATION_USER: '${MARIADB_REPLICATION_USER}',
        MARIADB_REPLICATION_PASSWORD: '${MARIADB_REPLICATION_PASSWORD}',
      }),
    );
  });

  test('the replica replicates the primary under its own server id, read-only, on a volume of its own', () => {
    const replica = service('mariadb-replica');
    expect(replica.profiles).toEqual(['cluster']);
    expect(replica.image).toBe(service('mariadb').image);
    expect(replica.environment?.MARIADB_MASTER_HOST).toBe('mariadb');
    expect(replica.environment?.MARIADB_REPLICATION_USER).toBe('${MARIADB_REPLICATION_USER}');
    expect(flags(replica)).toEqual(expect.arrayContaining(['--server-id=2', '--read-only=1']));
    expect(replica.volumes).toEqual(['mariadb-replica-data:/var/lib/mysql']);
    expect(compose.volumes).toHaveProperty('mariadb-replica-data');
    expect(replica.depends_on).toEqual({ mariadb: { condition: 'service_healthy' } });
  });

  test('the replica is healthy only while both replication threads run', () => {
    const check = healthcheckCommand(service('mariadb-replica'));
    // healthcheck.sh reads the replication options before the test that uses them.
    expect(check).toContain('--replication_io --replication_sql --replication');
    expect(service('mariadb-replica').environment?.MARIADB_HEALTHCHECK_GRANTS).toBe(
      'REPLICA MONITOR',
    );
  });

  test("the primary's first start lets the application's user read a replica's status", () => {
    expect(service('mariadb').volumes).toContain(
      './deploy/mariadb/initdb:/docker-entrypoint-initdb.d:ro',
    );
    const script = readFileSync(
      path.join(ROOT, 'deploy/mariadb/initdb/replica-monitor.sh'),
      'utf8',
    );
    expect(script).toContain("GRANT SLAVE MONITOR ON *.* TO '${MARIADB_USER}'@'%'");
  });
});

describe('.env.example, the cluster profile', () => {
  const env = parseEnvFile(readText('.env.example'));
  const example = readText('.env.example')
    .split('\n')
    .map((line) => /^#\s*DATABASE_REPLICA_URL=(.*)$/.exec(line)?.[1])
    .find((value) => value !== undefined);

  test('names the replication user the compose services use', () => {
    expect(env.values.get('MARIADB_REPLICATION_USER')).toEqual(expect.any(String));
    expect(env.values.get('MARIADB_REPLICATION_PASSWORD')).toMatch(/^change-me/);
  });

  test('shows DATABASE_REPLICA_URL pointing at the replica with the primary’s user and database', () => {
    expect(example).toBeDefined();
    const replica = new URL(example ?? '');
    const primary = new URL(env.values.get('DATABASE_URL') ?? '');
    expect(replica.hostname).toBe('mariadb-replica');
    expect([replica.username, replica.password, replica.pathname]).toEqual([
      primary.username,
      primary.password,
      primary.pathname,
    ]);
    const app = Object.fromEntries([...env.values].filter(([key]) => !IMAGE_VARIABLE.test(key)));
    const config = loadConfig({ ...app, DATABASE_REPLICA_URL: example, NODE_ENV: 'production' });
    expect(config.database.replica.url).toBe(example);
  });
});
