import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './ports';
import { RunningProcess } from './process';

const run = promisify(execFile);

export interface ClusterNode {
  port: number;
  /** `master` or `slave`, as CLUSTER NODES says now. */
  role: 'master' | 'slave';
  /** The slots it serves (masters). */
  slots: [number, number][];
  id: string;
  /** A replica's master id (`-` for a master). */
  master: string;
}

/**
 * A Redis Cluster of our own: `masters` masters with `replicasPerMaster` replicas each, every
 * node a `redis-server --cluster-enabled yes` on loopback ports this object picked, in a
 * temporary folder it owns, joined with `redis-cli --cluster create`. `stop()` stops every node
 * and deletes the folder. No persistence: a killed master's data lives on in its replica only.
 */
export class RedisCluster {
  private constructor(
    readonly dir: string,
    private readonly nodes: Map<number, RunningProcess>,
    private readonly nodeTimeoutMs: number,
    /** Each node's cluster bus port, to start it again on the same ports. */
    private readonly busPorts = new Map<number, number>(),
  ) {}

  static async start(
    options: { masters?: number; replicasPerMaster?: number; nodeTimeoutMs?: number } = {},
  ): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicasPerMaster ?? 1;
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shop-redis-cluster-'));
    const cluster = new RedisCluster(dir, new Map(), nodeTimeoutMs);
    try {
      const ports: number[] = [];
      for (let i = 0; i < masters * (1 + replicas); i++) {
        const port = await freePort();
        await cluster.launch(port, await freePort());
        ports.push(port);
      }
      await run('redis-cli', [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ]);
      await cluster.waitUntilHealthy(masters, masters * replicas);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** `REDIS_CLUSTER_NODES`: every node as a seed. */
  get seeds(): string {
    return [...this.nodes.keys()].map((port) => `127.0.0.1:${port}`).join(',');
  }

  /** The running nodes' process ids (the bench reads their CPU time from /proc). */
  pids(): number[] {
    return [...this.nodes.values()].flatMap((node) =>
      node.running && node.child.pid !== undefined ? [node.child.pid] : [],
    );
  }

  /** The nodes as the cluster sees them now, from any node that answers. */
  async topology(): Promise<ClusterNode[]> {
    for (const [port, node] of this.nodes) {
      if (!node.running) continue;
      const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
      redis.on('error', () => undefined);
      try {
        await redis.connect();
        const text = (await redis.call('CLUSTER', 'NODES')) as string;
        return parseNodes(text);
      } catch {
        continue;
      } finally {
        redis.disconnect();
      }
    }
    throw new Error('no node of the cluster answers');
  }

  /** Sends a command to one node (no cluster redirection). */
  async on<T>(port: number, ...command: [string, ...(string | number)[]]): Promise<T> {
    const redis = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      return (await redis.call(...command)) as T;
    } finally {
      redis.disconnect();
    }
  }

  /** SIGKILLs one node: its replica is promoted after the node timeout. */
  async kill(port: number): Promise<void> {
    await this.nodes.get(port)?.stop();
  }

  /**
   * SIGSTOPs (`paused`) or SIGCONTs a node: a replica that stops taking its master's stream for
   * a while, as a slow network or a stalled host would make it, without the cluster seeing it
   * fail (while shorter than the node timeout).
   */
  pause(port: number, paused: boolean): void {
    const node = this.nodes.get(port);
    if (node?.running !== true || node.child.pid === undefined) {
      throw new Error(`no running node on port ${port}`);
    }
    process.kill(node.child.pid, paused ? 'SIGSTOP' : 'SIGCONT');
  }

  /**
   * Starts a killed node again on its ports over its folder (its `nodes.conf`, no data): as a
   * supervisor would. Once its replica has been promoted, it rejoins as that one's replica and
   * copies its data; started before, it would take its slots back empty.
   */
  async restart(port: number): Promise<void> {
    const busPort = this.busPorts.get(port);
    if (busPort === undefined) throw new Error(`no node on port ${port}`);
    if (this.nodes.get(port)?.running === true) throw new Error(`node ${port} is running`);
    await this.launch(port, busPort);
  }

  /** The slot ranges a master serves now (empty for a replica or an unknown port). */
  async slotsOf(port: number): Promise<[number, number][]> {
    return (await this.topology()).find((n) => n.port === port && n.role === 'master')?.slots ?? [];
  }

  /**
   * Waits until the cluster answers with `masters` masters serving every slot, each of them
   * reachable, and `replicas` replicas known (after a failover: the promoted ones).
   */
  async waitUntilHealthy(masters: number, replicas = 0, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const nodes = await this.topology();
        const live = nodes.filter((n) => this.nodes.get(n.port)?.running === true);
        const up = live.filter((n) => n.role === 'master');
        const covered = up.reduce(
          (sum, n) => sum + n.slots.reduce((s, [a, b]) => s + b - a + 1, 0),
          0,
        );
        const states = await Promise.all(
          live.map((n) => this.on<string>(n.port, 'CLUSTER', 'INFO').catch(() => '')),
        );
        const ok = states.every((info) => info.includes('cluster_state:ok'));
        last = `${up.length} masters, ${covered} slots, states ok: ${ok}`;
        if (
          up.length === masters &&
          covered === 16_384 &&
          ok &&
          live.filter((n) => n.role === 'slave').length >= replicas
        ) {
          return;
        }
      } catch (error) {
        last = String(error);
      }
      await sleep(200);
    }
    throw new Error(`the Redis Cluster did not become healthy: ${last}`);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(port: number, busPort: number): Promise<void> {
    const dir = path.join(this.dir, String(port));
    mkdirSync(dir, { recursive: true });
    this.busPorts.set(port, busPort);
    const node = new RunningProcess(
      '/usr/bin/redis-server',
      [
        '--port',
        String(port),
        '--cluster-port',
        String(busPort),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        String(this.nodeTimeoutMs),
        '--appendonly',
        'no',
        '--save',
        '',
        // BullMQ's requirement: evicting queue keys would silently drop accepted work.
        '--maxmemory-policy',
        'noeviction',
        '--daemonize',
        'no',
      ],
      { name: `redis-cluster:${port}`, env: {}, keepOutput: false },
    );
    this.nodes.set(port, node);
    await node.waitFor(
      (line) =>
        typeof line === 'string' && line.includes('Ready to accept connections') ? true : undefined,
      '"Ready to accept connections"',
      30_000,
    );
  }
}

/** CLUSTER NODES, parsed: `<id> <ip:port@bus> <flags> <master> … <slot ranges>`. */
function parseNodes(text: string): ClusterNode[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , , ...slots] = line.split(' ');
      const port = Number(address.split('@')[0]?.split(':')[1]);
      const role: ClusterNode['role'] = flags.includes('master') ? 'master' : 'slave';
      const ranges = slots
        .filter((s) => /^\d/.test(s))
        .map((s): [number, number] => {
          const [a = '0', b = a] = s.split('-');
          return [Number(a), Number(b)];
        });
      return { id, port, role, master, slots: flags.includes('fail') ? [] : ranges };
    })
    .filter((n) => !Number.isNaN(n.port));
}
