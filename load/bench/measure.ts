import autocannon from 'autocannon';
import { rssMiB } from './cpu';

export interface Throughput {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

/** One autocannon run with a progress bar on stderr. */
export function cannon(name: string, options: autocannon.Options): Promise<Throughput> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => {
      if (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      resolve({
        name,
        requestsPerSecond: result.requests.average,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
      });
    });
    autocannon.track(instance, { renderResultsTable: false, renderLatencyTable: false });
  });
}

/** Samples `pid`'s memory every 500 ms until stopped; resolves to the peak. */
export function watchMemory(pid: number): { stop(): number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssMiB(pid));
  }, 500);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssMiB(pid));
    },
  };
}
