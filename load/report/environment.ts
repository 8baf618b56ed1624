import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { repoRoot } from '../../test/harness/paths';

/** Where the figures were measured: every report prints it, since they only compare like with like. */
export interface Environment {
  node: string;
  os: string;
  cpus: string;
  memory: string;
  mariadb: Record<string, string>;
  redis: Record<string, string>;
  autocannon: string;
  commit: string;
  /** 1/5/15-minute load averages when the run started and when it ended. */
  loadAverage: { before: string; after: string | null };
}

/** "0.52 / 0.61 / 0.70": other work on the machine shows up here, and in the figures. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
}

async function redisInfo(url: string): Promise<Record<string, string>> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 3_000,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    const persistence = await redis.info('persistence');
    const aof = /aof_enabled:(\d)/.exec(persistence)?.[1] === '1' ? 'on' : 'off';
    return { version, aof };
  } catch (error) {
    return { version: `unknown (${error instanceof Error ? error.message : String(error)})` };
  } finally {
    redis.disconnect();
  }
}

function commit(): string {
  try {
    const run = (args: string[]) =>
      execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8' }).trim();
    const dirty =
      run(['status', '--porcelain', '--untracked-files=no']) === '' ? '' : ' (modified)';
    return `${run(['rev-parse', '--short', 'HEAD'])}${dirty}`;
  } catch {
    return 'unknown';
  }
}

function autocannonVersion(): string {
  try {
    const file = path.join(repoRoot(), 'node_modules', 'autocannon', 'package.json');
    return String((JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version);
  } catch {
    return 'unknown';
  }
}

export async function collectEnvironment(
  mariadb: Record<string, string>,
  redisUrl: string,
): Promise<Environment> {
  const cpus = os.cpus();
  return {
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: `${cpus.length} × ${cpus[0]?.model.trim() ?? 'unknown'}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    mariadb,
    redis: await redisInfo(redisUrl),
    autocannon: autocannonVersion(),
    commit: commit(),
    loadAverage: { before: loadAverage(), after: null },
  };
}
