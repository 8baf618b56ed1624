import { parseArgs } from 'node:util';
import { z } from 'zod';
import { GENERATORS, type GeneratorName } from './generators';

/** What `npm run bench` runs with; parsed once, at start, by {@link parseBenchOptions}. */
export interface BenchOptions {
  /** Seconds of each autocannon run (`--duration`, default 10). */
  durationS: number;
  /** Concurrent connections of each autocannon run (`--connections`, default 100). */
  connections: number;
  /** Orders queued for each drain (`--orders`, default 4,000). */
  orders: number;
  /**
   * `--cluster`: instead of the baselines, order accepts followed until final on a single
   * Redis against a 6-node Redis Cluster, with and without REDIS_MIN_REPLICAS_ACK, with CPU per
   * final order of every process (`load/bench/cluster.ts`).
   */
  cluster: boolean;
  /**
   * QUEUE_PARTITIONS of `--cluster`'s partitioned setups and of the cluster-mode row
   * (`--partitions`, default 16: the setting's default with a cluster).
   */
  partitions: number;
  /**
   * The cluster-mode row of the cost table in a plain `npm run bench`: one round of the default
   * setup against the cluster, acknowledgements off and on (`--no-cluster-figure` leaves it out).
   */
  clusterFigure: boolean;
  /**
   * The closed-loop load generators (`--generator autocannon|wrk|both`, default autocannon):
   * every closed-loop scenario runs once with each, and each figure names its generator.
   */
  generators: readonly GeneratorName[];
  /** Run the API and workers with `node --cpu-prof` into the results folder (`--cpu-prof`). */
  cpuProf: boolean;
  /** Leave out the access-log comparison (`--no-access-log`: 4 runs fewer). */
  accessLog: boolean;
  /**
   * The MariaDB server the bench creates its two databases on (`BENCH_DATABASE_SERVER`, the
   * path ignored). Unset: a MariaDB server of the bench's own, so its CPU time is the bench's
   * alone; set, the `mariadbd` processes found on this host are counted, others' work included.
   */
  databaseServer: string | undefined;
  /** The Redis the system and the raw BullMQ loop use (`BENCH_REDIS_URL`); unset: its own. */
  redisUrl: string | undefined;
  /**
   * The rest of the bench's environment, handed to the processes it starts, so
   * `ORDERS_IN_FLIGHT=64 npm run bench` tunes the system (whose config validates it).
   */
  systemEnv: Readonly<Record<string, string>>;
}

/** The raw inputs: the command line and the bench's own variables, read in one place. */
export interface BenchInputs {
  argv: string[];
  databaseServer: string | undefined;
  redisUrl: string | undefined;
  env: Record<string, string | undefined>;
}

export const BENCH_USAGE = `usage: npm run bench -- [--duration S] [--connections N] [--orders N] [--cluster]
                         [--partitions N] [--generator autocannon|wrk|both] [--cpu-prof]
                         [--no-access-log] [--no-cluster-figure]

  --duration S      seconds of each closed-loop run (default 10)
  --connections N   concurrent connections of each run (default 100)
  --orders N        orders queued for each drain (default 4000)
  --cluster         order accepts followed until final on a single Redis and on a 6-node
                    Redis Cluster (with and without REDIS_MIN_REPLICAS_ACK=1), CPU per final
                    order of every process, instead of the baselines
  --partitions N    QUEUE_PARTITIONS of the cluster and of the single Redis it is compared
                    with beside the default (one partition); default 16, the setting's default
                    with a cluster
  --generator G     closed-loop load generator: autocannon (in this process), wrk (the Debian
                    package, Lua scripts in load/bench/wrk/), or both (default autocannon)
  --cpu-prof        run the API and workers under node --cpu-prof (profiles in the results)
  --no-access-log   leave out the LOG_LEVEL=info/http comparison
  --no-cluster-figure
                    leave out the cluster-mode row (one round of --cluster's setups, without
                    the single Redis with 16 partitions)

Environment: BENCH_DATABASE_SERVER, BENCH_REDIS_URL (unset: a MariaDB and a Redis of the
bench's own, so their CPU time is the bench's alone); every other variable is passed on to the
system's processes (e.g. ORDERS_IN_FLIGHT=64).`;

const positive = (max: number) => z.coerce.number().int().min(1).max(max);
/** An empty variable is an unset one. */
const unsetIfEmpty = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());

const schema = z.object({
  durationS: positive(3_600).default(10),
  connections: positive(10_000).default(100),
  orders: positive(10_000_000).default(4_000),
  partitions: positive(256).default(16),
  generators: z
    .enum([...GENERATORS, 'both'])
    .default('autocannon')
    .transform((g): readonly GeneratorName[] => (g === 'both' ? GENERATORS : [g])),
  cpuProf: z.boolean().default(false),
  accessLog: z.boolean().default(true),
  clusterFigure: z.boolean().default(true),
  databaseServer: unsetIfEmpty.pipe(z.url({ protocol: /^(mysql|mariadb)$/ }).optional()),
  redisUrl: unsetIfEmpty.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
});

/** Names each input the way its user typed it, for the error message. */
const SOURCES: Record<string, string> = {
  durationS: '--duration',
  connections: '--connections',
  orders: '--orders',
  partitions: '--partitions',
  generators: '--generator',
  databaseServer: 'BENCH_DATABASE_SERVER',
  redisUrl: 'BENCH_REDIS_URL',
};

/**
 * Validates the bench's flags and variables, with their defaults, into frozen options.
 * @throws Error naming every invalid flag or variable (unknown flags included).
 */
export function parseBenchOptions(inputs: BenchInputs): Readonly<BenchOptions> {
  const { values } = parseArgs({
    args: inputs.argv,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      orders: { type: 'string' },
      partitions: { type: 'string' },
      cluster: { type: 'boolean' },
      generator: { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      'access-log': { type: 'boolean' },
      'cluster-figure': { type: 'boolean' },
    },
    allowNegative: true,
  });
  const parsed = schema.safeParse({
    durationS: values.duration,
    connections: values.connections,
    orders: values.orders,
    partitions: values.partitions,
    generators: values.generator,
    cpuProf: values['cpu-prof'],
    accessLog: values['access-log'],
    clusterFigure: values['cluster-figure'],
    databaseServer: inputs.databaseServer,
    redisUrl: inputs.redisUrl,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0] ?? '');
      return `${SOURCES[key] ?? key}: ${issue.message}`;
    });
    throw new Error(problems.join('\n'));
  }
  const systemEnv = Object.fromEntries(
    Object.entries(inputs.env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return Object.freeze({
    ...parsed.data,
    cluster: values.cluster === true,
    databaseServer: parsed.data.databaseServer,
    redisUrl: parsed.data.redisUrl,
    systemEnv: Object.freeze(systemEnv),
  });
}
