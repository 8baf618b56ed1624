import type { Sequelize } from 'sequelize';
import { createSequelize } from '../../shared/db/sequelize';
import { createLogger } from '../../shared/logger';
import { createRedis, type RedisClient } from '../../shared/redis';
import { startApiOver, useApiWorld, type RunningApi } from '../harness/context';
import { expectProblem, request, type HttpResponse } from '../harness/http';

const world = useApiWorld();

/** Nothing listens on port 1: connections are refused at once. */
const DEAD_DATABASE_URL = 'mysql://root@127.0.0.1:1/x';
const DEAD_REDIS_URL = 'redis://127.0.0.1:1';

interface BrokenWorld {
  api: RunningApi;
  close(): Promise<void>;
}

/** The real app over the given dependencies, each either this file's own or an unreachable one. */
async function startWith(down: { database?: boolean; redis?: boolean }): Promise<BrokenWorld> {
  const logger = createLogger({ level: 'error', service: 'test', silent: true });
  const sequelize: Sequelize = down.database
    ? createSequelize(DEAD_DATABASE_URL, { poolMax: 1, connectTimeoutMs: 500 })
    : world.ctx.sequelize;
  const redis: RedisClient = down.redis
    ? // ioredis arms a 2 s timer when disconnecting a socket that never opened; it would
      // hold the test process after the run, and has nothing to do with readiness.
      createRedis(DEAD_REDIS_URL, 'command', logger, { disconnectTimeout: 10 })
    : world.ctx.redis;
  const api = await startApiOver({ config: world.ctx.config, logger, sequelize, redis });
  return {
    api,
    async close() {
      await api.close();
      if (down.database) await sequelize.close();
      if (down.redis) redis.disconnect();
    },
  };
}

let broken: BrokenWorld | undefined;
afterEach(async () => {
  await broken?.close();
  broken = undefined;
});

async function timed<T>(work: Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await work;
  return { result, ms: performance.now() - started };
}

function expectUnavailable(response: HttpResponse): string {
  const { detail } = expectProblem(response, 503, 'SERVICE_UNAVAILABLE');
  expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
  return detail;
}

describe('GET /readyz', () => {
  it('When the database and Redis answer, then it answers 200 ready with both up', async () => {
    const response = await request(world.api.baseUrl, 'GET', '/readyz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: 'ready',
      checks: { database: 'up', redis: 'up' },
    });
  });

  it('When the database is unreachable, then it answers 503 naming the database, in well under 2 s', async () => {
    broken = await startWith({ database: true });
    const { result, ms } = await timed(request(broken.api.baseUrl, 'GET', '/readyz'));
    const detail = expectUnavailable(result);
    expect(detail).toMatch(/database/i);
    expect(detail).not.toMatch(/redis/i);
    expect(ms).toBeLessThan(1_500);
  });

  it('When Redis is unreachable, then it answers 503 naming Redis', async () => {
    broken = await startWith({ redis: true });
    const { result, ms } = await timed(request(broken.api.baseUrl, 'GET', '/readyz'));
    const detail = expectUnavailable(result);
    expect(detail).toMatch(/redis/i);
    expect(detail).not.toMatch(/database/i);
    expect(ms).toBeLessThan(1_500);
  });

  it('When both are unreachable, then it answers 503 naming both', async () => {
    broken = await startWith({ database: true, redis: true });
    const detail = expectUnavailable(await request(broken.api.baseUrl, 'GET', '/readyz'));
    expect(detail).toMatch(/database/i);
    expect(detail).toMatch(/redis/i);
  });

  it('When the database and Redis are unreachable, then /healthz still answers 200', async () => {
    broken = await startWith({ database: true, redis: true });
    expect((await request(broken.api.baseUrl, 'GET', '/healthz')).status).toBe(200);
  });
});

describe('Reads while the database is unreachable', () => {
  it.each(['/api/products', '/api/products/1', '/api/products/top'])(
    'When GET %s, then it answers 503 SERVICE_UNAVAILABLE with Retry-After, not 500',
    async (path) => {
      broken = await startWith({ database: true });
      const { result, ms } = await timed(request(broken.api.baseUrl, 'GET', path));
      expectUnavailable(result);
      expect(ms).toBeLessThan(2_000);
    },
  );

  it('When GET /api/balance, then it answers 503 SERVICE_UNAVAILABLE with Retry-After, not 500', async () => {
    broken = await startWith({ database: true });
    const response = await request(broken.api.baseUrl, 'GET', '/api/balance', {
      token: await world.ctx.tokenFor(5),
    });
    expectUnavailable(response);
  });

  it('When the request is invalid anyway, then it still answers 400 (a client mistake is never 5xx)', async () => {
    broken = await startWith({ database: true });
    const response = await request(broken.api.baseUrl, 'GET', '/api/products?limit=0');
    expectProblem(response, 400, 'VALIDATION_FAILED');
  });
});
