/**
 * The heap every API and worker process runs with. Capped, V8 keeps a busy process near its
 * working set; uncapped it lets the heap grow far beyond it before collecting (figures:
 * load/REPORT.md, "Optimisations, before and after"). Used by `npm start`, the bench
 * and the load runs; `npm run start:api` / `start:workers` and the image's NODE_OPTIONS spell
 * out the same flags (a test keeps them equal).
 */
export const HEAP_FLAGS: readonly string[] = [
  '--max-old-space-size=160',
  '--max-semi-space-size=8',
];
