import type { Logger } from './logger';
import { messageOf } from './infra-errors';

/**
 * Graceful shutdown on SIGTERM/SIGINT: runs `close` once, bounded by `timeoutMs`, then exits.
 * A second signal exits at once, abandoning whatever is still in flight.
 */
export function onShutdownSignal(
  logger: Logger,
  timeoutMs: number,
  close: () => Promise<void>,
): void {
  let closing = false;
  const handle = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(130);
    }
    closing = true;
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
