import { AsyncLocalStorage } from 'node:async_hooks';
import { Writable } from 'node:stream';
import winston from 'winston';

/** What every log line written inside a request or a job carries. */
export interface LogContext {
  requestId?: string;
  jobId?: string;
  queue?: string;
}

const context = new AsyncLocalStorage<LogContext>();

/**
 * Runs `fn` with `ctx` attached to every log line written inside it, however deep; inside
 * another context, with both (`ctx` wins). `ctx` becomes the context as it is when there is
 * none around it (every request): do not change it afterwards.
 */
export function withLogContext<T>(ctx: LogContext, fn: () => T): T {
  const outer = context.getStore();
  return context.run(outer === undefined ? ctx : { ...outer, ...ctx }, fn);
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

/**
 * Standard output, written once per turn of the event loop. On Linux every write to stdout
 * (file, pipe or terminal) is a synchronous system call, and one per log line was the
 * workers' largest cost under load: `strace` counted 3 of every 4 write calls of a worker
 * process as log lines, one per order. Lines logged in the same turn (the orders of a batch)
 * now leave in one write. A process killed outright loses at most the lines of its current
 * turn; on a normal exit they are written.
 */
export function turnBufferedOutput(
  write: (chunk: string) => void = (chunk) => process.stdout.write(chunk),
): Writable {
  let buffer = '';
  const flush = () => {
    if (buffer === '') return;
    const chunk = buffer;
    buffer = '';
    write(chunk);
  };
  process.once('exit', flush);
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      if (buffer === '') setImmediate(flush);
      buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      if (buffer.length > 65_536) flush();
      done();
    },
  });
}

/** One stdout stream per process, whatever number of loggers it creates. */
let output: Writable | undefined;

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
    transports: [new winston.transports.Stream({ stream: (output ??= turnBufferedOutput()) })],
  });
}
