/**
 * The heap every API and worker process runs with. Capped, V8 keeps a busy process near its
 * working set; uncapped it lets the heap grow to hundreds of MiB before collecting (measured:
 * 300 MiB vs 140 MiB at full load, and more throughput capped). Used by `npm start`, the bench
 * and the load runs; `npm run start:api` / `start:workers` and the image's NODE_OPTIONS spell
 * out the same flags (a test keeps them equal).
 */
export const HEAP_FLAGS: readonly string[] = [
  '--max-old-space-size=160',
  '--max-semi-space-size=8',
];
