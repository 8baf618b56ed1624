import { setTimeout as sleep } from 'node:timers/promises';
import { signUserToken } from '../../shared/tokens';
import { TEST_JWT_SECRET } from './context';
import { testDatabaseUrl, testLogLevel, testRedisUrl } from './env';
import { SystemUnderTest } from './system';

let system: SystemUnderTest;

beforeAll(async () => {
  const id = Date.now().toString(36);
  system = await SystemUnderTest.create({
    mysqlUrl: testDatabaseUrl(''),
    database: `shop_sut_${id}`,
    redisUrl: testRedisUrl(),
    redisPrefix: `shopsut-${id}`,
    jwtSecret: TEST_JWT_SECRET,
    workers: 1,
    env: { NODE_ENV: 'development', LOG_LEVEL: testLogLevel() },
  });
});

afterAll(async () => {
  await system.close();
});

describe('The system under test, started in two steps (what the bench measures accepts with)', () => {
  it('Given only its API started, when a charge is accepted, then it stays PENDING until the workers start, and then it completes', async () => {
    await system.startApis();
    expect(system.pids()).toEqual({ api: [expect.any(Number)], workers: [] });
    const token = await signUserToken(TEST_JWT_SECRET, 1, '1h');
    const accepted = await fetch(`${system.apiUrl}/api/charges`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/json',
        'Idempotency-Key': 'two-step-start',
      },
      body: JSON.stringify({ amount: 500 }),
    });
    expect(accepted.status).toBe(202);
    const { statusUrl } = (await accepted.json()) as { statusUrl: string };
    const status = async () => {
      const answer = await fetch(`${system.apiUrl}${statusUrl}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      return ((await answer.json()) as { status: string }).status;
    };
    await sleep(1_000);
    expect(await status()).toBe('PENDING');

    await system.startWorkers();
    await expect(system.startWorkers()).rejects.toThrow('the workers are already started');
    const deadline = Date.now() + 15_000;
    while ((await status()) !== 'COMPLETED' && Date.now() < deadline) await sleep(100);
    expect(await status()).toBe('COMPLETED');
  });
});
