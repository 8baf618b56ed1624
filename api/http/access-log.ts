import { isoTime } from '../../shared/clock';

export interface AccessLine {
  requestId: string;
  method: string;
  route: string;
  status: number;
  ms: number;
}

/**
 * Access-log lines, written in batches. One winston call per request cost a large share of the
 * API's throughput; building the JSON line by hand and writing the buffer every 100 ms (or at
 * 64 KiB) cut that cost to a fraction (figures: load/REPORT.md). Lines keep the logger's
 * shape (level, message, service, requestId, timestamp) so log tooling reads them alike.
 */
export function createAccessLog(
  service: string,
  write: (chunk: string) => void = (c) => process.stdout.write(c),
) {
  const quotedService = JSON.stringify(service);
  let buffer = '';
  const flush = () => {
    if (buffer === '') return;
    const chunk = buffer;
    buffer = '';
    write(chunk);
  };
  const timer = setInterval(flush, 100);
  timer.unref();
  process.once('exit', flush);

  return {
    log(line: AccessLine): void {
      // Written out by hand: building an object per request for JSON.stringify was most of
      // this line's cost. Every string still goes through JSON.stringify (escaping).
      buffer += `{"level":"http","message":"request","service":${quotedService},"requestId":${JSON.stringify(
        line.requestId,
      )},"method":${JSON.stringify(line.method)},"route":${JSON.stringify(line.route)},"status":${
        line.status
      },"ms":${line.ms},"timestamp":"${isoTime()}"}\n`;
      if (buffer.length > 65_536) flush();
    },
    flush,
    /** Writes what is buffered and stops the timer and the exit hook; idempotent. */
    stop(): void {
      clearInterval(timer);
      process.removeListener('exit', flush);
      flush();
    },
  };
}

export type AccessLog = ReturnType<typeof createAccessLog>;
