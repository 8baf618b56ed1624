import CircuitBreaker from 'opossum';
import { isDatabaseUnavailable } from '../infra-errors';
import type { Logger } from '../logger';

export interface BreakerSettings {
  /** A call slower than this fails (and counts against the breaker). */
  timeoutMs: number;
  /** Share of failures in the rolling window that opens the breaker. */
  errorPercent: number;
  /** Calls the window needs before the breaker may open. */
  volume: number;
  /** Open → half-open after this long; the next call is the probe. */
  resetMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * How one call through the breaker went: `failure` counted against it (an outage or a timeout),
 * `rejected` was refused while open, `success` is everything else (business outcomes and
 * errors that are not outages included).
 */
export type BreakerCallOutcome = 'success' | 'failure' | 'rejected';

/** The configured thresholds with the caller's own timeout (API reads and worker jobs differ). */
export function breakerSettings(
  breaker: { errorPercent: number; volume: number; resetMs: number },
  timeoutMs: number,
): BreakerSettings {
  return {
    timeoutMs,
    errorPercent: breaker.errorPercent,
    volume: breaker.volume,
    resetMs: breaker.resetMs,
  };
}

/**
 * A circuit breaker around database work. Only outages count against it — the database
 * unreachable, or a call timing out. Business outcomes are values, not errors, and other
 * errors (a duplicate key, a bug) pass through without opening it.
 */
export interface DbBreaker {
  run<T>(work: () => Promise<T>): Promise<T>;
  readonly state: BreakerState;
  readonly settings: BreakerSettings;
  /** Listens to state changes (metrics, logs). */
  onChange(listener: (state: BreakerState) => void): void;
  /** Listens to the outcome of every call (metrics). */
  onCall(listener: (outcome: BreakerCallOutcome) => void): void;
  shutdown(): void;
}

/** The breaker refused the call without trying it (open, or a probe is already running). */
export function isBreakerOpen(error: unknown): boolean {
  const code =
    typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return code === 'EOPENBREAKER';
}

export function createDbBreaker(
  name: string,
  settings: BreakerSettings,
  logger: Logger,
): DbBreaker {
  const breaker = new CircuitBreaker((work: () => Promise<unknown>) => work(), {
    name,
    timeout: settings.timeoutMs,
    errorThresholdPercentage: settings.errorPercent,
    volumeThreshold: settings.volume,
    resetTimeout: settings.resetMs,
    rollingCountTimeout: 10_000,
    rollingCountBuckets: 10,
    // true = "not a failure": everything except an outage.
    errorFilter: (error: unknown) => !isDatabaseUnavailable(error),
  });
  let state: BreakerState = 'closed';
  const listeners: ((s: BreakerState) => void)[] = [];
  const moveTo = (next: BreakerState) => {
    state = next;
    const log = next === 'open' ? logger.error.bind(logger) : logger.warn.bind(logger);
    log(`database breaker ${next}`, { breaker: name });
    for (const listener of listeners) listener(next);
  };
  breaker.on('open', () => {
    moveTo('open');
  });
  breaker.on('halfOpen', () => {
    moveTo('half-open');
  });
  breaker.on('close', () => {
    moveTo('closed');
  });
  const callListeners: ((outcome: BreakerCallOutcome) => void)[] = [];
  const called = (outcome: BreakerCallOutcome) => () => {
    for (const listener of callListeners) listener(outcome);
  };
  breaker.on('success', called('success'));
  // A timeout emits `failure` too, once.
  breaker.on('failure', called('failure'));
  breaker.on('reject', called('rejected'));

  return {
    run: <T>(work: () => Promise<T>) => breaker.fire(work) as Promise<T>,
    get state() {
      return state;
    },
    settings,
    onChange(listener) {
      listeners.push(listener);
    },
    onCall(listener) {
      callListeners.push(listener);
    },
    shutdown() {
      breaker.shutdown();
    },
  };
}

/**
 * The same repository with every method run through the breaker: API reads fail fast (503)
 * while the database is down instead of queueing on a dead pool.
 */
export function guarded<T extends object>(repository: T, breaker: DbBreaker): T {
  const wrapped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(repository)) {
    wrapped[key] =
      typeof value === 'function'
        ? (...args: unknown[]) =>
            breaker.run(() => (value as (...a: unknown[]) => Promise<unknown>)(...args))
        : value;
  }
  return wrapped as T;
}
