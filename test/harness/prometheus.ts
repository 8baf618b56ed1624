import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { freePort } from './ports';

/** What the test's Prometheus loads and scrapes. */
export interface PrometheusOptions {
  /** Rule files, loaded as they are (absolute paths). */
  ruleFiles: string[];
  /** Scrape job name → `host:port` targets (their `/metrics`). */
  jobs: Record<string, string[]>;
  /** Scrape and rule evaluation interval in seconds. Default 1. */
  intervalSeconds?: number;
  /** How long to wait for Prometheus to answer `/-/ready`. Default 60 s. */
  readyTimeoutMs?: number;
}

/** A Debian `prometheus` binary running for one test file, on a loopback port of its own. */
export interface RunningPrometheus {
  url: string;
  /** `GET <url><path>` as JSON; throws on a non-2xx answer. */
  get<T>(path: string): Promise<T>;
  /** Everything Prometheus logged (stderr), for failure messages. */
  log(): string;
  /** SIGTERM (SIGKILL after 10 s) and removes its data dir; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `prometheus` (from PATH: the Debian package, installed by `.ci/run`) with a generated
 * configuration and its own temporary TSDB, and resolves once it is ready. The caller stops it.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const interval = `${options.intervalSeconds ?? 1}s`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'shop-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    stringify({
      global: {
        scrape_interval: interval,
        scrape_timeout: interval,
        evaluation_interval: interval,
      },
      rule_files: options.ruleFiles,
      scrape_configs: Object.entries(options.jobs).map(([job, targets]) => ({
        job_name: job,
        static_configs: [{ targets }],
      })),
    }),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let spawnError: Error | undefined;
  child.on('error', (error) => {
    spawnError = error;
  });
  const exited = new Promise<void>((resolve) => {
    child.on('close', () => {
      resolve();
    });
  });
  let stopped: Promise<void> | undefined;

  const running: RunningPrometheus = {
    url,
    async get<T>(p: string) {
      const response = await fetch(`${url}${p}`);
      const text = await response.text();
      if (!response.ok) throw new Error(`GET ${p}: ${response.status} ${text}`);
      return JSON.parse(text) as T;
    },
    log: () => stderr,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null && spawnError === undefined) {
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(killer);
        }
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  for (;;) {
    const gone = spawnError ?? (child.exitCode !== null ? `exit code ${child.exitCode}` : null);
    if (gone !== null) {
      await running.stop();
      throw new Error(
        `prometheus did not start (${String(gone)}); is the Debian package installed?\n${stderr}`,
      );
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return running;
    if (Date.now() > deadline) {
      await running.stop();
      throw new Error(
        `prometheus not ready within ${options.readyTimeoutMs ?? 60_000} ms\n${stderr}`,
      );
    }
    await sleep(200);
  }
}
