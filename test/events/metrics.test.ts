import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { createTestContext, startApi, type RunningApi, type TestContext } from '../harness/context';
import { request } from '../harness/http';
import { fund, insertProduct, submitOrder, waitForFinal } from '../harness/pipeline';
import { runBuilt, type RunningProcess } from '../harness/process';
import { PLATFORM_SECRET, startReceiver, waitDelivered, type Receiver } from './support';
import { eventually } from '../harness/wait';

/** A real worker process delivering to a receiver, scraped the way Prometheus would. */
let ctx: TestContext;
let api: RunningApi;
let receiver: Receiver;
let workers: RunningProcess;
let metrics: string;

beforeAll(async () => {
  receiver = await startReceiver();
  ctx = await createTestContext({
    DATA_PLATFORM_URL: receiver.url,
    DATA_PLATFORM_SECRET: PLATFORM_SECRET,
  });
  api = await startApi(ctx);
  workers = runBuilt('workers/main.js', [], {
    ...ctx.env,
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'info',
  });
  const started = await workers.waitForLog('workers started', 15_000);
  expect(started.queues).toEqual(expect.arrayContaining(['charges', 'orders', 'events']));

  await insertProduct(ctx, { id: 1, price: 100, stock: 10 });
  const token = await ctx.tokenFor(901);
  await fund(api.baseUrl, token, 1_000);
  const order = await submitOrder(api.baseUrl, token, [{ productId: 1, quantity: 1 }]);
  await waitForFinal(api.baseUrl, token, order.statusUrl);
  await waitDelivered(ctx, [order.id]);
  const port = String(started.metricsPort);
  // The row is DELIVERED a moment before the worker counts it: scrape until it has.
  await eventually('the worker counts the delivery', async () => {
    metrics = (await request(`http://127.0.0.1:${port}`, 'GET', '/metrics')).text;
    return value('shop_events_delivered_total') === 1;
  });
}, 60_000);

afterAll(async () => {
  await workers.stop();
  await api.close();
  await receiver.close();
  await ctx.destroy();
});

const value = (name: string) =>
  Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(metrics)?.[1]);

describe('Order event metrics of a worker process', () => {
  it('When an event has been delivered, then the worker reports it recorded, delivered, its latency, and no lag', () => {
    expect(value('shop_events_recorded_total')).toBe(1);
    expect(value('shop_events_delivered_total')).toBe(1);
    expect(value('shop_events_retried_total')).toBe(0);
    expect(value('shop_events_dead_total')).toBe(0);
    expect(value('shop_event_delivery_seconds_count')).toBe(1);
    expect(value('shop_outbox_lag_seconds')).toBe(0);
    expect(metrics).toMatch(/^shop_queue_jobs\{[^}]*queue="events",state="completed"[^}]*\} 1$/m);
  });

  it('Every metric the data-platform alert rules use exists in the real output', () => {
    const file = parse(
      readFileSync(path.resolve(__dirname, '../../runbooks/alerts.yml'), 'utf8'),
    ) as { groups: { name: string; rules: { alert: string; expr: string }[] }[] };
    const rules = file.groups.find((g) => g.name === 'data-platform')?.rules ?? [];
    expect(rules.length).toBeGreaterThan(0);
    const exported = new Set(
      metrics
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? ''),
    );
    for (const rule of rules) {
      for (const metric of rule.expr.match(/\bshop_[a-z_]+\b/g) ?? []) {
        expect({ alert: rule.alert, metric, exported: exported.has(metric) }).toEqual({
          alert: rule.alert,
          metric,
          exported: true,
        });
      }
    }
  });
});
