import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ENV_KEYS, loadConfig } from '../../shared/config';
import { HEAP_FLAGS } from '../../shared/node-flags';
import {
  ROOT,
  dockerfileStages,
  exportedSeries,
  healthcheckCommand,
  interpolatedVariables,
  parseEnvFile,
  promqlMetricNames,
  readCompose,
  readText,
  readYaml,
  IMAGE_VARIABLE,
  type ComposeService,
} from './support';

/**
 * The deployment files checked without a Docker engine: what they reference must exist in the
 * code (entry points, variables, metrics, files), and the properties the README promises
 * (health checks, start order, scaling, durability) must hold.
 */
const compose = readCompose();
const envExample = parseEnvFile(readText('.env.example'));
const scripts = z
  .object({ scripts: z.record(z.string(), z.string()) })
  .parse(JSON.parse(readText('package.json'))).scripts;

/** App service → the npm script that runs the same entry point outside Docker. */
/** `node [flags] <entry>`, as a package.json script runs it. */
const runsNode = (entry: string) =>
  new RegExp(`node (--[\\w=-]+ )*${entry.replace(/[.]/g, '\\.')}(\\s|$)`);

const APP_SERVICES = { migrate: 'db:migrate', api: 'start:api', workers: 'start:workers' };

/** The `cluster` profile's Redis Cluster nodes. */
const REDIS_NODES = [1, 2, 3, 4, 5, 6].map((n) => `redis-node-${n}`);

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/** `node dist/api/main.js` → `dist/api/main.js`. */
function entryPoint(command: ComposeService['command']): string {
  const words = typeof command === 'string' ? command.split(/\s+/) : (command ?? []);
  expect(words).toHaveLength(2);
  expect(words[0]).toBe('node');
  return words[1] ?? '';
}

function dependsOn(name: string): Record<string, string> {
  const deps = service(name).depends_on;
  if (deps === undefined || Array.isArray(deps)) return {};
  return Object.fromEntries(Object.entries(deps).map(([dep, { condition }]) => [dep, condition]));
}

describe('docker-compose.yml', () => {
  test('defines MariaDB, Redis, the migration, the API, the workers and a monitoring profile', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'api',
        'grafana',
        'mariadb',
        'mariadb-replica',
        'migrate',
        'prometheus',
        'redis',
        ...REDIS_NODES,
        'redis-cluster-init',
        'workers',
      ].sort(),
    );
    expect(service('mariadb-replica').profiles).toEqual(['cluster']);
    for (const name of [...REDIS_NODES, 'redis-cluster-init']) {
      expect(service(name).profiles).toEqual(['cluster']);
    }
    expect(service('prometheus').profiles).toEqual(['monitoring']);
    expect(service('grafana').profiles).toEqual(['monitoring']);
    for (const name of ['mariadb', 'redis', ...Object.keys(APP_SERVICES)]) {
      expect(service(name).profiles).toBeUndefined();
    }
  });

  test.each(Object.entries(APP_SERVICES))(
    'service %s runs the entry point of npm script %s',
    (name, script) => {
      const entry = entryPoint(service(name).command);
      expect(scripts[script]).toMatch(runsNode(entry));
      const source = entry.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect(existsSync(path.join(ROOT, source))).toBe(true);
      expect(service(name).image).toBe(service('api').image);
    },
  );

  test('gives the app services only variables that shared/config.ts reads, from .env', () => {
    for (const name of Object.keys(APP_SERVICES)) {
      expect(service(name).env_file).toBe('.env');
      for (const key of Object.keys(service(name).environment ?? {})) {
        expect(ENV_KEYS).toContain(key);
      }
    }
    for (const key of envExample.named.filter((k) => !IMAGE_VARIABLE.test(k))) {
      expect(ENV_KEYS).toContain(key);
    }
  });

  test('takes every secret from .env and hard-codes none', () => {
    const text = readText('docker-compose.yml');
    for (const variable of interpolatedVariables(text)) {
      expect(envExample.named).toContain(variable);
    }
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(svc.environment ?? {})) {
        if (/PASSWORD|SECRET|DATABASE_URL/.test(key)) {
          // Only a ${...} reference, resolved from .env when compose reads the file.
          expect({ service: name, key, value }).toEqual({
            service: name,
            key,
            value: expect.stringMatching(/^\$\{[A-Z_]+(:\?[^}]*)?\}$/),
          });
        }
      }
    }
    for (const value of envExample.values.values()) {
      if (value.startsWith('change-me')) expect(text).not.toContain(value);
    }
  });

  test('checks the health of mariadb, redis, the API on 3000 and the workers on 9100', () => {
    expect(healthcheckCommand(service('mariadb'))).toContain('healthcheck.sh --connect');
    expect(healthcheckCommand(service('redis'))).toContain('redis-cli ping');
    expect(healthcheckCommand(service('api'))).toContain("fetch('http://127.0.0.1:3000/healthz')");
    expect(service('api').environment?.PORT).toBe('3000');
    expect(service('api').ports).toContain('3000:3000');
    expect(healthcheckCommand(service('workers'))).toContain(
      "fetch('http://127.0.0.1:9100/healthz')",
    );
    expect(service('workers').environment?.WORKER_METRICS_PORT).toBe('9100');
    for (const name of ['mariadb', 'redis', 'api', 'workers']) {
      expect(service(name).healthcheck?.disable).not.toBe(true);
    }
  });

  test('migrates once MariaDB is healthy, then starts the API and workers once it succeeded', () => {
    expect(dependsOn('migrate')).toEqual({ mariadb: 'service_healthy' });
    expect(service('migrate').restart).toBe('no');
    for (const name of ['api', 'workers']) {
      expect(dependsOn(name)).toEqual({
        migrate: 'service_completed_successfully',
        redis: 'service_healthy',
        'redis-cluster-init': 'service_completed_successfully',
      });
      // Only with the cluster profile: without it the dependency is not there.
      const deps = service(name).depends_on as Record<string, { required?: boolean }>;
      expect(deps['redis-cluster-init']?.required).toBe(false);
    }
  });

  test('lets the workers scale: no container_name and no published port', () => {
    expect(service('workers').container_name).toBeUndefined();
    expect(service('workers').ports).toBeUndefined();
  });

  test('runs Redis with an fsynced append-only file and without eviction', () => {
    const command = service('redis').command;
    const flags = (typeof command === 'string' ? command.split(/\s+/) : (command ?? [])).join(' ');
    expect(flags).toContain('--appendonly yes');
    expect(flags).toContain('--appendfsync always');
    expect(flags).toContain('--maxmemory-policy noeviction');
    expect(service('redis').volumes).toContain('redis-data:/data');
  });

  test('runs the MariaDB version CI tests against, on a volume', () => {
    expect(service('mariadb').image).toBe('mariadb:10.11');
    expect(service('mariadb').volumes).toContain('mariadb-data:/var/lib/mysql');
  });
});

describe('cluster profile: a 6-node Redis Cluster', () => {
  const flags = (svc: ComposeService) => {
    const command = svc.command;
    return (typeof command === 'string' ? command.split(/\s+/) : (command ?? [])).join(' ');
  };

  test.each(REDIS_NODES)(
    '%s is a cluster node with an fsynced AOF on a volume of its own, without eviction, health-checked',
    (name) => {
      const node = service(name);
      expect(node.image).toBe(service('redis').image);
      expect(flags(node)).toContain('--cluster-enabled yes');
      expect(flags(node)).toContain('--appendonly yes');
      expect(flags(node)).toContain('--appendfsync always');
      expect(flags(node)).toContain('--maxmemory-policy noeviction');
      expect(node.volumes).toEqual([`${name}-data:/data`]);
      expect(Object.keys(compose.volumes ?? {})).toContain(`${name}-data`);
      expect(healthcheckCommand(node)).toContain('redis-cli ping');
      expect(node.ports).toBeUndefined();
    },
  );

  test('redis-cluster-init joins all six, one replica per master, once every node is healthy, and only once', () => {
    const init = service('redis-cluster-init');
    const script = flags(init);
    expect(init.restart).toBe('no');
    expect(script).toContain('--cluster create');
    expect(script).toContain('--cluster-replicas 1');
    for (const name of REDIS_NODES) expect(script).toContain(name);
    // A later `up` finds the cluster formed and leaves it alone.
    expect(script).toMatch(/cluster_state:ok && exit 0/);
    expect(dependsOn('redis-cluster-init')).toEqual(
      Object.fromEntries(REDIS_NODES.map((n) => [n, 'service_healthy'])),
    );
  });

  test('.env.example names every node in REDIS_CLUSTER_NODES, a valid configuration with replica acknowledgements', () => {
    const line = /^# (REDIS_CLUSTER_NODES=.*)$/m.exec(readText('.env.example'))?.[1] ?? '';
    const seeds = line.replace('REDIS_CLUSTER_NODES=', '');
    expect(seeds.split(',')).toEqual(REDIS_NODES.map((n) => `${n}:6379`));
    const env = Object.fromEntries(
      [...envExample.values].filter(([key]) => !IMAGE_VARIABLE.test(key)),
    );
    const config = loadConfig({
      ...env,
      REDIS_CLUSTER_NODES: seeds,
      REDIS_MIN_REPLICAS_ACK: '1',
      NODE_ENV: 'production',
    });
    expect(config.redis.clusterNodes).toHaveLength(6);
    expect(config.redis.partitions).toBe(16);
    expect(config.redis.minReplicasAck).toBe(1);
  });
});

describe('.env.example', () => {
  test('is a valid production configuration for the app processes', () => {
    const env = Object.fromEntries(
      [...envExample.values].filter(([key]) => !IMAGE_VARIABLE.test(key)),
    );
    for (const name of Object.keys(APP_SERVICES)) {
      const environment = Object.fromEntries(
        Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, String(v)]),
      );
      expect(() => loadConfig({ ...env, ...environment, NODE_ENV: 'production' })).not.toThrow();
    }
  });

  test('points the app at the compose services with the MariaDB user it creates', () => {
    const values = envExample.values;
    const database = new URL(values.get('DATABASE_URL') ?? '');
    expect(database.hostname).toBe('mariadb');
    expect(database.username).toBe(values.get('MARIADB_USER'));
    expect(database.password).toBe(values.get('MARIADB_PASSWORD'));
    expect(database.pathname).toBe(`/${values.get('MARIADB_DATABASE') ?? ''}`);
    expect(new URL(values.get('REDIS_URL') ?? '').hostname).toBe('redis');
  });
});

describe('Dockerfile', () => {
  const stages = dockerfileStages(readText('Dockerfile'));
  const build = stages[0];
  const runtime = stages.at(-1);

  test('builds on Node 24 in a build and a runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toMatch(/^FROM node:24[-\w.]* AS \w+$/);
  });

  test('compiles every folder tsconfig.build.json includes', () => {
    const { include } = z
      .object({ include: z.array(z.string()) })
      .parse(JSON.parse(readText('tsconfig.build.json')));
    for (const folder of include) {
      expect(build?.instructions).toContain(`COPY ${folder} ./${folder}`);
    }
    expect(build?.instructions.join('\n')).toMatch(/^RUN .*npm ci/m);
    expect(build?.instructions.join('\n')).toContain('tsc -p tsconfig.build.json');
  });

  test('ships production dependencies and the compiled entry points, as a non-root user', () => {
    const text = runtime?.instructions.join('\n') ?? '';
    expect(text).toMatch(/^RUN .*npm ci --omit=dev/m);
    expect(text).toMatch(/^ENV NODE_ENV=production$/m);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^EXPOSE 3000 9100$/m);
    expect(text).toMatch(/^HEALTHCHECK .*CMD \["node", "-e", ".*\/healthz/m);
    for (const name of Object.keys(APP_SERVICES)) {
      const folder = entryPoint(service(name).command).split('/').slice(0, 2).join('/');
      expect(text).toContain(`COPY --from=build /app/${folder} ./${folder}`);
    }
    // The image's default command is the API's, as in npm run start:api.
    const cmd = /^CMD (.*)$/m.exec(text)?.[1] ?? '[]';
    const entry = entryPoint(z.array(z.string()).parse(JSON.parse(cmd)));
    expect(scripts['start:api']).toMatch(runsNode(entry));
  });

  test('runs with the same capped heap as npm start, npm run start:api / start:workers and the load runs', () => {
    const text = runtime?.instructions.join('\n') ?? '';
    expect(text).toContain(`ENV NODE_OPTIONS="${HEAP_FLAGS.join(' ')}"`);
    for (const script of ['start:api', 'start:workers']) {
      expect(scripts[script]).toContain(`node ${HEAP_FLAGS.join(' ')} dist/`);
    }
  });

  test('npm start, start:api and start:workers exec node, so a SIGTERM sent to npm reaches the process and it shuts down cleanly', () => {
    // npm forwards SIGTERM to its child; a shell left between them would not pass it on and
    // the process would keep running without npm (scripts/node24 execs node too).
    for (const script of ['start', 'start:api', 'start:workers']) {
      expect(scripts[script]).toMatch(/&& exec scripts\/node24 node /);
    }
  });

  test('.dockerignore keeps secrets, dependencies and local builds out of the context', () => {
    const ignored = readText('.dockerignore').split('\n');
    for (const entry of ['.env', 'node_modules', 'dist', '.git', 'load/results', 'coverage']) {
      expect(ignored).toContain(entry);
    }
  });
});

describe('monitoring profile', () => {
  const prometheus = z
    .object({
      rule_files: z.array(z.string()),
      scrape_configs: z.array(
        z.looseObject({
          job_name: z.string(),
          dns_sd_configs: z
            .array(z.looseObject({ names: z.array(z.string()), port: z.number() }))
            .optional(),
        }),
      ),
    })
    .parse(readYaml('deploy/prometheus/prometheus.yml'));
  const dashboard = z
    .object({
      uid: z.string(),
      panels: z.array(
        z.looseObject({
          title: z.string(),
          datasource: z.object({ uid: z.string() }),
          targets: z.array(z.looseObject({ expr: z.string() })).min(1),
        }),
      ),
    })
    .parse(JSON.parse(readText('deploy/grafana/dashboards/shop.json')));

  /** Where compose mounts a repository path inside a service's container. */
  function mountTarget(name: string, source: string): string | undefined {
    const volume = service(name).volumes?.find((v) => v.startsWith(`${source}:`));
    return volume?.split(':')[1];
  }

  test('Prometheus loads the alert rules of runbooks/alerts.yml', () => {
    expect(mountTarget('prometheus', './deploy/prometheus/prometheus.yml')).toBe(
      '/etc/prometheus/prometheus.yml',
    );
    const rules = mountTarget('prometheus', './runbooks/alerts.yml');
    expect(prometheus.rule_files).toContain(rules);
    expect(readYaml('runbooks/alerts.yml')).toEqual(
      expect.objectContaining({ groups: expect.any(Array) }),
    );
  });

  test('Prometheus scrapes every API and worker replica, found by DNS, on their metrics ports', () => {
    const jobs = Object.fromEntries(
      prometheus.scrape_configs.map((job) => [job.job_name, job.dns_sd_configs]),
    );
    expect(jobs['shop-api']).toEqual([expect.objectContaining({ names: ['api'], port: 3000 })]);
    expect(jobs['shop-workers']).toEqual([
      expect.objectContaining({ names: ['workers'], port: 9100 }),
    ]);
  });

  test('Grafana provisions the data source and the dashboards folder the dashboard needs', () => {
    const datasources = z
      .object({ datasources: z.array(z.looseObject({ uid: z.string(), url: z.string() })) })
      .parse(readYaml('deploy/grafana/provisioning/datasources/prometheus.yml')).datasources;
    expect(datasources).toEqual([
      expect.objectContaining({ uid: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    for (const panel of dashboard.panels) expect(panel.datasource.uid).toBe('prometheus');

    const providers = z
      .object({ providers: z.array(z.object({ options: z.object({ path: z.string() }) })) })
      .parse(readYaml('deploy/grafana/provisioning/dashboards/shop.yml')).providers;
    expect(providers.map((p) => p.options.path)).toEqual([
      mountTarget('grafana', './deploy/grafana/dashboards'),
    ]);
  });

  test('the dashboard queries only series the processes export', async () => {
    const exported = await exportedSeries();
    const unknown = dashboard.panels.flatMap((panel) =>
      panel.targets.flatMap((target) =>
        promqlMetricNames(target.expr)
          .filter((name) => !exported.has(name))
          .map((name) => `${panel.title}: ${name}`),
      ),
    );
    expect(unknown).toEqual([]);
  });

  test('the dashboard shows traffic, errors, latency, queues, breakers, ON_HOLD and outbox lag', () => {
    const used = new Set(
      dashboard.panels.flatMap((p) => p.targets.flatMap((t) => promqlMetricNames(t.expr))),
    );
    for (const metric of [
      'shop_http_request_duration_seconds_count',
      'shop_http_request_duration_seconds_bucket',
      'shop_queue_jobs',
      'shop_accept_to_final_seconds_bucket',
      'shop_breaker_state',
      'shop_jobs_on_hold_total',
      'shop_outbox_lag_seconds',
    ]) {
      expect(used).toContain(metric);
    }
  });
});
