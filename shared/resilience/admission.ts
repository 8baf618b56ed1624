import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from '../logger';

export interface AdmissionOptions {
  /** Accepts are refused while a queue's backlog (waiting + delayed) is above this. */
  maxBacklog: number;
  /** ... or while the event loop's p99 delay over the last interval is above this (ms). */
  maxLagMs: number;
  /** Backlog per queue name; called in the background, never per request. */
  backlogs(): Promise<Record<string, number>>;
  logger: Logger;
  refreshMs?: number;
}

export type Refusal = { reason: 'backlog' | 'lag'; detail: string; retryAfterSeconds: number };

export interface Admission {
  /** Cheap: reads cached figures. Null when the request may be accepted. */
  check(queue: string): Refusal | null;
  snapshot(): { backlogs: Record<string, number>; lagMs: number };
  stop(): void;
}

/**
 * Admission control for accepts. The backlog is counted in the background every `refreshMs`
 * (one Redis call per queue), so a request pays only a map lookup. Refusing early keeps the
 * latency of accepted requests flat and stops a backlog from growing past what the workers
 * can drain.
 */
export function createAdmission(options: AdmissionOptions): Admission {
  const refreshMs = options.refreshMs ?? 500;
  let backlogs: Record<string, number> = {};
  let lagMs = 0;
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();

  // This timer's own lateness counts too: after a stall, the refresh can run before the delay
  // monitor's timer has recorded it (both fire in the same timers phase), and the stall would
  // then be read one refresh late.
  let dueAt = Date.now() + refreshMs;
  const refresh = async (lateMs = 0) => {
    lagMs = Math.max(delay.percentile(99) / 1e6, lateMs);
    delay.reset();
    backlogs = await options.backlogs();
  };
  const timer = setInterval(() => {
    const now = Date.now();
    const lateMs = Math.max(0, now - dueAt);
    dueAt = now + refreshMs;
    // If Redis is down the last figures stand; accepts fail on Redis anyway.
    refresh(lateMs).catch(() => undefined);
  }, refreshMs);
  timer.unref();
  refresh().catch(() => undefined);

  return {
    check(queue) {
      const backlog = backlogs[queue] ?? 0;
      if (backlog > options.maxBacklog) {
        return {
          reason: 'backlog',
          detail: `The ${queue} backlog (${backlog}) is over its limit; retry later`,
          retryAfterSeconds: 2,
        };
      }
      if (lagMs > options.maxLagMs) {
        return {
          reason: 'lag',
          detail: 'The API is saturated; retry later',
          retryAfterSeconds: 1,
        };
      }
      return null;
    },
    snapshot: () => ({ backlogs: { ...backlogs }, lagMs }),
    stop() {
      clearInterval(timer);
      delay.disable();
    },
  };
}
