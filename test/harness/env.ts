/**
 * Where the tests find MariaDB and Redis: TEST_DATABASE_URL / TEST_REDIS_URL, else the local
 * defaults. Only the server part is used; every test file gets its own database and prefix.
 */
export function testDatabaseUrl(database: string): string {
  const url = new URL(process.env.TEST_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/');
  url.pathname = `/${database}`;
  return url.toString();
}

export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}
