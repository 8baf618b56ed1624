import type { Logger } from './logger';
import { messageOf } from './infra-errors';

/**
 * Signals this close to the first are that same request delivered more than once, not a
 * second one: a terminal's Ctrl-C or systemd's stop reaches every process of the group, and
 * a supervisor such as `npm start` forwards it as well.
 */
export const REPEATED_SIGNAL_MS = 300;

/**
 * Graceful shutdown on SIGTERM/SIGINT: runs `close` once, bounded by `timeoutMs`, then exits.
 * A second signal exits at once, abandoning whatever is still in flight; one within
 * {@link REPEATED_SIGNAL_MS} of the first is the first delivered twice and changes nothing.
 */
export function onShutdownSignal(
  logger: Logger,
  timeoutMs: number,
  close: () => Promise<void>,
): void {
  let closingSince: number | undefined;
  const handle = (signal: NodeJS.Signals) => {
    if (closingSince !== undefined) {
      if (performance.now() - closingSince < REPEATED_SIGNAL_MS) return;
      logger.warn('second signal: exiting now', { signal });
      process.exit(130);
    }
    closingSince = performance.now();
    logger.info('shutting down', { signal, timeoutMs });
    const timer = setTimeout(() => {
      logger.error('shutdown timed out: abandoning in-flight work', { timeoutMs });
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    close().then(
      () => {
        logger.info('shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('shutdown failed', { error: messageOf(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
