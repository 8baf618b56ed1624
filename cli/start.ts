import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { HEAP_FLAGS } from '../shared/node-flags';
import { prepareDatabase } from './prepare-database';
import { messageOf } from '../shared/infra-errors';

/**
 * `npm start`: migrate, seed when the catalog is empty (unless SEED_DEMO=false), then run one
 * API and one worker process. Signals are forwarded; if either child dies, the other is
 * stopped and this exits non-zero so a process manager can restart the whole.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, service: 'start' });
  await prepareDatabase(config, logger, config.seedDemo ? 'when-empty' : 'never');

  const dist = path.resolve(__dirname, '..');
  const children = new Map<string, ChildProcess>();
  let stopping = false;

  const stopAll = (signal: NodeJS.Signals) => {
    for (const child of children.values()) if (child.exitCode === null) child.kill(signal);
  };

  for (const [name, entry] of [
    ['api', 'api/main.js'],
    ['workers', 'workers/main.js'],
  ] as const) {
    // Inherited stdio: the children's log lines reach the terminal or the log shipper
    // directly, never read or parsed here. This is why npm start keeps its own few lines
    // instead of the tests' process runner (test/harness/process.ts), which captures output —
    // and product code does not import test code.
    const child = spawn(process.execPath, [...HEAP_FLAGS, path.join(dist, entry)], {
      stdio: 'inherit',
    });
    children.set(name, child);
    child.on('exit', (code, signal) => {
      children.delete(name);
      if (!stopping) {
        logger.error('child exited unexpectedly: stopping the rest', { name, code, signal });
        stopping = true;
        process.exitCode = 1;
        stopAll('SIGTERM');
      }
      if (children.size === 0) process.exit(process.exitCode ?? 0);
    });
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      // Forwarded. A child that also got it directly (Ctrl-C reaches the whole process group)
      // takes the two as one request (shared/process.ts); a later second one stops it at once.
      stopping = true;
      stopAll(signal);
    });
  }
}

main().catch((error: unknown) => {
  console.error(messageOf(error));
  process.exit(1);
});
