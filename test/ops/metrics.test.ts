import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { createTestContext, type TestContext } from '../harness/context';
import { request } from '../harness/http';
import { fund, insertProduct, submitOrder, waitForFinal } from '../harness/pipeline';
import { runBuilt, type RunningProcess } from '../harness/process';

/** The real processes, scraped after real traffic: what an operator's Prometheus would see. */
let ctx: TestContext;
let api: RunningProcess;
let workers: RunningProcess;
let apiUrl: string;
let workerMetricsUrl: string;
let apiMetrics: string;
let workerMetrics: string;
const TRACE_ID = 'trace-me-0123456789';

beforeAll(async () => {
  ctx = await createTestContext();
  const env = {
    ...ctx.env,
    PORT: '0',
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    ADMISSION_MAX_BACKLOG: '100000',
  };
  api = runBuilt('api/main.js', [], env);
  workers = runBuilt('workers/main.js', [], env);
  apiUrl = `http://127.0.0.1:${String((await api.waitForLog('api listening')).port)}`;
  workerMetricsUrl = `http://127.0.0.1:${String((await workers.waitForLog('workers started')).metricsPort)}`;

  await insertProduct(ctx, { id: 1, price: 100, stock: 1 });
  const token = await ctx.tokenFor(1);
  await fund(apiUrl, token, 1_000);
  const paid = await request<{ statusUrl: string }>(apiUrl, 'POST', '/api/orders', {
    token,
    body: { items: [{ productId: 1, quantity: 1 }] },
    headers: { 'idempotency-key': 'metrics-1', 'x-request-id': TRACE_ID },
  });
  if (paid.status !== 202) throw new Error(`order not accepted: ${paid.status} ${paid.text}`);
  await waitForFinal(apiUrl, token, paid.body.statusUrl);
  const failed = await submitOrder(apiUrl, token, [{ productId: 1, quantity: 1 }]);
  await waitForFinal(apiUrl, token, failed.statusUrl);
  await request(apiUrl, 'GET', '/api/products/1');

  apiMetrics = (await request(apiUrl, 'GET', '/metrics')).text;
  workerMetrics = (await request(workerMetricsUrl, 'GET', '/metrics')).text;
});

afterAll(async () => {
  await api.stop();
  await workers.stop();
  await ctx.destroy();
});

const names = (text: string) =>
  new Set(
    text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? ''),
  );

describe('GET /metrics', () => {
  it('When the API has served traffic, then its metrics carry request durations by route template, queue depth, breaker, pool and process series', () => {
    expect(apiMetrics).toMatch(
      /shop_http_request_duration_seconds_count\{[^}]*method="GET",route="\/api\/products\/:productId",status="200"[^}]*\} 1/,
    );
    expect(apiMetrics).toMatch(
      /shop_http_request_duration_seconds_count\{[^}]*route="\/api\/orders",status="202"[^}]*\}/,
    );
    expect(apiMetrics).toMatch(/shop_queue_jobs\{[^}]*queue="orders",state="wait"[^}]*\} \d+/);
    expect(apiMetrics).toMatch(
      /shop_queue_oldest_waiting_age_seconds\{[^}]*queue="orders"[^}]*\} /,
    );
    expect(apiMetrics).toMatch(
      /shop_queue_delayed_overdue_seconds\{[^}]*queue="orders"[^}]*\} 0\n/,
    );
    expect(apiMetrics).toMatch(/shop_breaker_state\{[^}]*breaker="api-db"[^}]*\} 0/);
    expect(apiMetrics).toMatch(/shop_db_pool_connections\{[^}]*state="max"[^}]*\} 20/);
    expect(apiMetrics).toContain('# TYPE shop_admission_rejections_total counter');
    expect(apiMetrics).toContain('process_resident_memory_bytes');
    expect(apiMetrics).toContain('nodejs_eventloop_lag_p99_seconds');
  });

  it('When a worker has processed jobs, then its metrics carry job durations, accept-to-final latency, outcomes by failure code and its top-sellers refresh', () => {
    expect(workerMetrics).toMatch(
      /shop_job_duration_seconds_count\{[^}]*queue="orders",outcome="PAID"[^}]*\} 1/,
    );
    expect(workerMetrics).toMatch(
      /shop_accept_to_final_seconds_count\{[^}]*queue="orders",status="FAILED"[^}]*\} 1/,
    );
    expect(workerMetrics).toMatch(
      /shop_jobs_finished_total\{[^}]*queue="orders",status="FAILED",failure_code="INSUFFICIENT_STOCK"[^}]*\} 1/,
    );
    expect(workerMetrics).toMatch(
      /shop_jobs_finished_total\{[^}]*queue="charges",status="COMPLETED",failure_code=""[^}]*\} 1/,
    );
    expect(workerMetrics).toMatch(/shop_breaker_state\{[^}]*breaker="worker-db"[^}]*\} 0/);
    // The top-sellers ranking is refreshed once at start, then every 30 s.
    expect(workerMetrics).toMatch(/shop_top_sellers_refresh_seconds_count\{[^}]*\} [1-9]/);
    expect(workerMetrics).toContain('# TYPE shop_jobs_on_hold_total counter');
    expect(workerMetrics).toContain('# TYPE shop_jobs_deferred_total counter');
    expect(workerMetrics).toContain('service="workers"');
  });

  it('Every metric an alert rule uses exists in the real output', () => {
    const file = parse(
      readFileSync(path.resolve(__dirname, '../../runbooks/alerts.yml'), 'utf8'),
    ) as {
      groups: {
        name: string;
        rules: { alert: string; expr: string; annotations?: { runbook_url?: string } }[];
      }[];
    };
    const exported = new Set([...names(apiMetrics), ...names(workerMetrics), 'up']);
    const rules = file.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(5);
    for (const rule of rules) {
      const used = rule.expr.match(/\b(shop_[a-z_]+|process_[a-z_]+|nodejs_[a-z_0-9]+)\b/g) ?? [];
      for (const metric of used)
        expect({ alert: rule.alert, metric, exported: exported.has(metric) }).toEqual({
          alert: rule.alert,
          metric,
          exported: true,
        });
      expect(rule.annotations?.runbook_url).toBeDefined();
    }
  });
});

describe('Tracing', () => {
  it("When a request carries X-Request-Id, then the worker's log lines for its job carry the same id", () => {
    const lines = workers.logs().filter((line) => line.requestId === TRACE_ID);
    expect(lines.map((l) => l.message)).toContain('order processed');
    expect(lines.every((l) => typeof l.jobId === 'string')).toBe(true);
  });

  it('When an order fails for a business reason, then the worker logs it at info, not error', () => {
    const failed = workers
      .logs()
      .find((l) => l.message === 'order processed' && l.status === 'FAILED');
    expect(failed?.level).toBe('info');
    expect(workers.logs().filter((l) => l.level === 'error')).toEqual([]);
  });
});
