import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';

/** What every log line written inside a request or a job carries. */
export interface LogContext {
  requestId?: string;
  jobId?: string;
  queue?: string;
}

const context = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `ctx` attached to every log line written inside it, however deep. */
export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  return context.run({ ...context.getStore(), ...ctx }, fn);
}

export function currentLogContext(): LogContext | undefined {
  return context.getStore();
}

const addContext = winston.format((info) => {
  const store = context.getStore();
  if (store) Object.assign(info, store);
  return info;
});

export type Logger = winston.Logger;

/** JSON lines on stdout. Callers never pass request bodies, tokens or passwords to it. */
export function createLogger(options: {
  level: string;
  service: string;
  silent?: boolean;
}): Logger {
  return winston.createLogger({
    level: options.level,
    silent: options.silent ?? false,
    defaultMeta: { service: options.service },
    format: winston.format.combine(
      addContext(),
      winston.format.timestamp(),
      winston.format.errors({ stack: true }),
      winston.format.json(),
    ),
    transports: [new winston.transports.Console()],
  });
}
