import type { TestContext } from '../harness/context';
import { runBuilt, type LogLine, type RunningProcess } from '../harness/process';
import { eventually } from '../harness/wait';
import { sampleValue, scrape, type Sample } from './scrape';

/** A real worker process and where its /metrics answers. */
export interface WorkerProcess {
  proc: RunningProcess;
  metricsUrl: string;
}

/** `dist/workers/main.js` over the context's database and Redis; `running` collects it. */
export async function startWorkerProcess(
  ctx: TestContext,
  running: RunningProcess[],
  env: Record<string, string> = {},
): Promise<WorkerProcess> {
  const proc = runBuilt('workers/main.js', [], {
    ...ctx.env,
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    ...env,
  });
  running.push(proc);
  const started = await proc.waitForLog('workers started', 15_000);
  return { proc, metricsUrl: `http://127.0.0.1:${String(started.metricsPort)}` };
}

/**
 * Stops the worker processes as a deployment does (SIGTERM): each finishes a reconcile in
 * progress and releases the reconcile lock. A SIGKILLed worker may leave the lock held for its
 * whole lease (30 s), and the next test's workers would skip every interval until it expires.
 */
export async function stopWorkers(running: RunningProcess[]): Promise<void> {
  await Promise.all(running.splice(0).map((p) => p.terminate()));
}

/** The 'reconcile completed' lines a process logged. */
export const completedRuns = (proc: RunningProcess): LogLine[] =>
  proc.logs().filter((line) => line.message === 'reconcile completed');

export const lastRun = (samples: Sample[]): number =>
  sampleValue(samples, 'shop_reconcile_last_run_timestamp_seconds') ?? -1;
export const duration = (samples: Sample[]): number =>
  sampleValue(samples, 'shop_reconcile_duration_seconds') ?? -1;
export const drift = (samples: Sample[], check: string): number | undefined =>
  sampleValue(samples, 'shop_reconcile_drift', { check });
export const stuck = (samples: Sample[], kind: 'order' | 'charge'): number | undefined =>
  sampleValue(samples, 'shop_requests_stuck', { kind });

export const nowS = (): number => Date.now() / 1_000;

/**
 * Every worker's metrics once they show a reconcile that STARTED after `since` (unix s): the
 * first run completing after it may have started before, so this waits for the one after.
 */
export async function samplesAfter(
  workers: readonly WorkerProcess[],
  since: number,
): Promise<Sample[][]> {
  let all: Sample[][] = [];
  const allNewerThan = async (t: number) => {
    all = await Promise.all(workers.map((w) => scrape(w.metricsUrl)));
    return all.every((samples) => lastRun(samples) > t);
  };
  await eventually('every worker shows a reconcile completed after the change', () =>
    allNewerThan(since),
  );
  const completed = Math.max(...all.map(lastRun));
  await eventually('every worker shows the reconcile after that', () => allNewerThan(completed));
  return all;
}
