import { Redis } from 'ioredis';
import { HEAP_FLAGS } from '../../shared/node-flags';
import { RunningProcess } from '../../test/harness/process';
import { singleLayout } from '../../test/harness/queues';
import { SystemUnderTest } from '../../test/harness/system';
import { acceptToFinal, type EndToEnd } from './cost';
import type { Groups } from './cpu';
import type { GeneratorName, Workload } from './generators';
import { readQueues } from './queues';
import { fundUsers, seedProducts } from './setup';

/** A stand-in data platform: bare node:http answering 204 to every POST; prints its port. */
const RECEIVER = `
const server = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(204).end());
});
server.listen(0, '127.0.0.1', () => console.log('port ' + server.address().port));
`;

/** Starts the stand-in data platform in a process of its own; stop it when done. */
export async function startStandInPlatform(): Promise<{ url: string; stop(): Promise<void> }> {
  const receiver = new RunningProcess(process.execPath, ['-e', RECEIVER], {
    name: 'data-platform',
    env: {},
    keepOutput: false,
  });
  try {
    const port = await receiver.waitFor(
      (line) => (typeof line === 'string' ? /^port (\d+)$/.exec(line)?.[1] : undefined),
      'the receiver port',
      10_000,
    );
    return { url: `http://127.0.0.1:${port}/events`, stop: () => receiver.stop() };
  } catch (error) {
    await receiver.stop();
    throw error;
  }
}

export interface DeliveryRun {
  /** Where the system runs: the bench's servers, settings and users. */
  mysqlUrl: string;
  redisUrl: string;
  servers: () => Groups;
  settings: Record<string, string>;
  jwtSecret: string;
  tokens: readonly string[];
  products: number;
  users: number;
  /** The run's names (prefix, database) begin with this. */
  id: string;
  generator: GeneratorName;
  shape: { connections: number; durationS: number };
  warmUp: { connections: number; durationS: number };
}

/**
 * Order accepts once more, on a system whose workers deliver every order's event to a
 * stand-in data platform (a bare `node:http` receiver in a process of its own; its CPU is not
 * counted): CPU per order of every process from the first accept until every order is final
 * and the events queue is idle. The bench's other figures run without DATA_PLATFORM_URL, so
 * they leave delivery out (load/REPORT.md, "Event delivery"). Also answers how many events
 * were still undelivered at the end (0 when the figure covers every delivery).
 */
export async function deliveredOrders(
  name: string,
  run: DeliveryRun,
): Promise<{ endToEnd: EndToEnd; undelivered: number }> {
  const platform = await startStandInPlatform();
  const prefix = `bench-${run.id}-ev`;
  let system: SystemUnderTest | undefined;
  const redis = new Redis(run.redisUrl, { maxRetriesPerRequest: null });
  const queues = readQueues(redis, singleLayout(prefix));
  try {
    system = await SystemUnderTest.create({
      mysqlUrl: run.mysqlUrl,
      database: `shop_bench_${run.id}_ev`,
      redisUrl: run.redisUrl,
      redisPrefix: prefix,
      jwtSecret: run.jwtSecret,
      workers: 1,
      env: {
        ...run.settings,
        DATA_PLATFORM_URL: platform.url,
        DATA_PLATFORM_SECRET: 'bench-data-platform-secret-0123456789',
      },
      nodeFlags: HEAP_FLAGS,
    });
    await seedProducts(system.database, run.products);
    await fundUsers(system.database.url, run.users);
    await system.start();
    const sut = system;
    const groups = (): Groups => ({ ...sut.pids(), ...run.servers() });
    const drainTo = { databaseUrl: sut.database.url, queues };
    const workload = (key: string): Workload & { kind: 'order' } => ({
      kind: 'order',
      baseUrl: sut.apiUrl,
      tokens: run.tokens,
      products: run.products,
      key: `${prefix}-${key}`,
    });
    // Warm-up, not counted: a cold process pays for JIT compilation in its first seconds.
    await acceptToFinal(
      run.generator,
      `${name} (warm-up)`,
      workload('w'),
      run.warmUp,
      groups(),
      drainTo,
    );
    const { endToEnd } = await acceptToFinal(
      run.generator,
      name,
      workload('o'),
      run.shape,
      groups(),
      drainTo,
    );
    const [rows] = await sut.database.pool.query(
      "SELECT COUNT(*) AS n FROM order_events WHERE status <> 'DELIVERED'",
    );
    return {
      endToEnd,
      undelivered: Number((rows as { n: number | string }[])[0]?.n ?? Number.NaN),
    };
  } finally {
    await queues.close();
    redis.disconnect();
    await system?.close();
    await platform.stop();
  }
}
