import net from 'node:net';
import * as hdr from 'hdr-histogram-js';

/**
 * An open-loop load generator: requests are sent at a fixed offered rate whatever the
 * answers do, and each latency is measured from the moment the request was due, not from when
 * a connection was free to send it — so a stall shows as the queue of late requests behind
 * it (no coordinated omission). wrk2 would do this; it is not packaged, so this is ours: plain
 * HTTP/1.1 over keep-alive sockets, all opened before the clock starts and used in turn,
 * requests prepared as strings, answers parsed only as far as status line and length.
 *
 * Sockets opened while the clock ran put their opening into the latency: with 32 opened first
 * and the rest on demand, bare node:http measured a p99 of 180 ms at 24,000/s; with all 512
 * opened first, 6 ms (load/REPORT.md, "Latency at a fixed offered rate").
 */
export interface OpenLoopOptions {
  /** `http://127.0.0.1:<port>`. */
  baseUrl: string;
  /** Requests per second offered. */
  rate: number;
  durationS: number;
  /** The i-th request, as the bytes to send (`Connection: keep-alive`). */
  request: (i: number) => string;
  /**
   * Sockets, all opened before the clock starts (default 512): connecting is not what is
   * measured. A request due while all are busy waits for one (and its wait counts).
   */
  connections?: number;
}

export interface OpenLoopResult {
  rate: number;
  seconds: number;
  sent: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** Of the requests due, how many were still queued for a socket when the run ended. */
  unsent: number;
  /**
   * The generator's own lateness: from when a request was due to when it was written, p99
   * (its timer's granularity, and its waits for a CPU or a free socket).
   */
  sendLagP99Ms: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** The distribution: [percentile, ms], for the HDR chart. */
  percentiles: [number, number][];
}

/** Percentiles drawn on the HDR chart. */
const CHART_PERCENTILES = [
  0, 10, 25, 50, 75, 90, 95, 97.5, 99, 99.5, 99.75, 99.9, 99.95, 99.99, 99.995, 99.999, 100,
];

/** Where an HTTP/1.1 answer at the start of `buffer` ends, and its status; null if incomplete. */
export function parseAnswer(buffer: Buffer): { status: number; end: number } | null {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = buffer.toString('latin1', 0, headEnd);
  const status = Number(head.slice(9, 12));
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length?.[1] !== undefined) {
    const end = headEnd + 4 + Number(length[1]);
    return buffer.length >= end ? { status, end } : null;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const last = buffer.indexOf('\r\n0\r\n\r\n', headEnd + 4 - 2);
    return last < 0 ? null : { status, end: last + 7 };
  }
  return { status, end: headEnd + 4 };
}

interface Connection {
  socket: net.Socket;
  busy: boolean;
  buffer: Buffer;
  dueAt: number;
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const url = new URL(options.baseUrl);
  const connections = options.connections ?? 512;
  const microseconds = () =>
    hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: 120_000_000,
      numberOfSignificantValueDigits: 3,
      useWebAssembly: false,
    });
  const histogram = microseconds();
  const sendLag = microseconds();
  const pool: Connection[] = [];
  const idle: Connection[] = [];
  const waiting: { i: number; dueAt: number }[] = [];
  let sent = 0;
  let due = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let open = 0;
  let stopped = false;
  const intervalMs = 1_000 / options.rate;

  const send = (connection: Connection, i: number, dueAt: number) => {
    connection.busy = true;
    connection.dueAt = dueAt;
    sent++;
    sendLag.recordValue(Math.max(1, Math.round((performance.now() - dueAt) * 1_000)));
    connection.socket.write(options.request(i));
  };
  const next = (connection: Connection) => {
    const queued = stopped ? undefined : waiting.shift();
    if (queued) send(connection, queued.i, queued.dueAt);
    else {
      connection.busy = false;
      idle.push(connection);
    }
  };
  const connect = (): Connection => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    const connection: Connection = { socket, busy: false, buffer: Buffer.alloc(0), dueAt: 0 };
    open++;
    socket.on('data', (chunk: Buffer) => {
      connection.buffer =
        connection.buffer.length === 0 ? chunk : Buffer.concat([connection.buffer, chunk]);
      const answer = parseAnswer(connection.buffer);
      if (answer === null) return;
      connection.buffer = connection.buffer.subarray(answer.end);
      histogram.recordValue(
        Math.max(1, Math.round((performance.now() - connection.dueAt) * 1_000)),
      );
      if (answer.status >= 200 && answer.status < 300) ok++;
      else non2xx++;
      next(connection);
    });
    socket.on('error', () => {
      if (connection.busy) errors++;
    });
    socket.on('close', () => {
      open--;
      const at = pool.indexOf(connection);
      if (at >= 0) pool.splice(at, 1);
      const idleAt = idle.indexOf(connection);
      if (idleAt >= 0) idle.splice(idleAt, 1);
    });
    pool.push(connection);
    return connection;
  };

  const ready = Array.from({ length: connections }, () => {
    const connection = connect();
    idle.push(connection);
    return new Promise<void>((resolve, reject) => {
      connection.socket.once('connect', resolve).once('error', reject);
    });
  });
  await Promise.all(ready);
  const started = performance.now();
  return new Promise((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const elapsed = now - started;
      if (elapsed >= options.durationS * 1_000) {
        clearInterval(tick);
        stopped = true;
        // Let the answers in flight come back, then close.
        const drain = setInterval(() => {
          if (pool.every((c) => !c.busy) || performance.now() - now > 10_000) {
            clearInterval(drain);
            const seconds = (performance.now() - started) / 1_000;
            for (const c of pool) c.socket.destroy();
            const at = (p: number) => histogram.getValueAtPercentile(p) / 1_000;
            resolve({
              rate: options.rate,
              seconds,
              sent,
              ok,
              non2xx,
              errors: errors + pool.filter((c) => c.busy).length,
              unsent: waiting.length,
              sendLagP99Ms: sendLag.getValueAtPercentile(99) / 1_000,
              p50Ms: at(50),
              p99Ms: at(99),
              p999Ms: at(99.9),
              maxMs: histogram.maxValue / 1_000,
              percentiles: CHART_PERCENTILES.map((p) => [p, at(p)]),
            });
          }
        }, 20);
        return;
      }
      const target = Math.floor(elapsed / intervalMs);
      for (; due < target; due++) {
        const dueAt = started + due * intervalMs;
        // The socket idle longest: every socket stays in use, so none reaches a server's
        // keep-alive timeout and has to be opened again while the clock runs.
        const connection = idle.shift() ?? (open < connections ? connect() : undefined);
        if (connection) send(connection, due, dueAt);
        else waiting.push({ i: due, dueAt });
      }
    }, 1);
  });
}
