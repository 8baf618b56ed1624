import type { TestContext } from './context';
import { runBuilt, type RunningProcess } from './process';

/**
 * API and worker processes from `dist/` over one test file's context, started on free ports
 * with short worker locks (a killed worker's jobs are picked up again within ~2 s, not 30);
 * `stopAll()` SIGKILLs whatever is still running. For tests that need real processes beside
 * each other: several APIs, several workers, one to kill.
 */
export function builtProcesses(ctx: () => TestContext) {
  const running: RunningProcess[] = [];
  const env = () => ({
    ...ctx().env,
    PORT: '0',
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'info',
    WORKER_CONCURRENCY: '4',
    WORKER_LOCK_MS: '2000',
  });
  return {
    /** Starts an API process; answers its base URL once it listens. */
    async api(): Promise<string> {
      const api = runBuilt('api/main.js', [], env());
      running.push(api);
      const line = await api.waitForLog('api listening');
      return `http://127.0.0.1:${String(line.port)}`;
    },
    /** Starts a worker process; answers it once its workers have started. */
    async workers(): Promise<RunningProcess> {
      const workers = runBuilt('workers/main.js', [], env());
      running.push(workers);
      await workers.waitForLog('workers started');
      return workers;
    },
    async stopAll(): Promise<void> {
      await Promise.all(running.splice(0).map((p) => p.stop()));
    },
  };
}
