import { setTimeout as sleep } from 'node:timers/promises';
import { createTestContext, type TestContext } from '../harness/context';
import { runBuilt } from '../harness/process';

let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});

afterAll(async () => {
  await ctx.destroy();
});

describe('Starting a worker during an outage', () => {
  it('When the database is down at start, then the worker waits for it instead of crash-looping, and still stops cleanly', async () => {
    const workers = runBuilt('workers/main.js', [], {
      ...ctx.env,
      DATABASE_URL: 'mysql://root@127.0.0.1:1/shop',
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'info',
    });
    try {
      await workers.waitForLog('waiting for the database and Redis');
      await sleep(1_500);
      expect(workers.child.exitCode).toBeNull();
      workers.child.kill('SIGTERM');
      expect(await workers.waitForExit(10_000)).toEqual({ code: 0, signal: null });
    } finally {
      await workers.stop();
    }
  });
});
