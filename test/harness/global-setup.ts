import { execFileSync } from 'node:child_process';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { testDatabaseUrl, testRedisUrl } from './env';

/**
 * Checks that MariaDB and Redis answer (tests never mock them) and builds dist/ with the tools
 * (tsconfig.tools.json: the product, load/ and the chaos suite), which the process-level tests
 * run as real child processes.
 */
export default async function globalSetup(): Promise<void> {
  try {
    const connection = await mysql.createConnection({
      uri: testDatabaseUrl('mysql'),
      connectTimeout: 3_000,
    });
    await connection.end();
  } catch (error) {
    throw new Error(`MariaDB/MySQL is not reachable at ${testDatabaseUrl('')}`, { cause: error });
  }
  const redis = new Redis(testRedisUrl(), {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3_000,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${testRedisUrl()}`, { cause: error });
  } finally {
    redis.disconnect();
  }
  const root = path.resolve(__dirname, '../..');
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.tools.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
