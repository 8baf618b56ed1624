/**
 * Tests run against the real MariaDB and Redis; each file gets its own database and Redis prefix.
 * Two projects: `single` runs every test file against the single Redis; `cluster` runs the files
 * about the request pipeline again against a 6-node Redis Cluster its global setup starts
 * (16 partitions by default there). `--selectProjects single` runs one of them.
 */
const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
};

/** The suites that run on the cluster as well: pipeline, idempotency, races, cancellations, ON_HOLD and replay, events, reconcile. */
const ON_THE_CLUSTER = [
  'pipeline/orders',
  'pipeline/charges',
  'pipeline/idempotency',
  'pipeline/races',
  'pipeline/processes',
  'pipeline/ops',
  'pipeline/accept-batches',
  'pipeline/order-list',
  'pipeline/cancellations',
  'pipeline/cancel-races',
  'events/delivery',
  'ops/stuck-requests',
  'ops/reconcile-schedule',
  'e2e/walkthrough',
];

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  // A worker's exit outlasted Jest's default 500 ms on a loaded machine (Jest then force-exits
  // it and warns "A worker process has failed to exit gracefully"). It was not a leaked handle:
  // both workers had emitted 'exit' with nothing left open, and the processes took 0.4-1 s
  // more to end, the longer the larger their heap (1.2 GB used after a full run).
  workerGracefulExitTimeout: 5_000,
  testTimeout: 30000,
  projects: [
    {
      ...common,
      displayName: 'single',
      testMatch: ['**/*.test.ts'],
      // test/cluster/ needs the cluster project's Redis Cluster.
      testPathIgnorePatterns: ['/node_modules/', '/test/cluster/'],
      globalSetup: '<rootDir>/test/harness/global-setup.ts',
    },
    {
      ...common,
      displayName: 'cluster',
      testMatch: [
        ...ON_THE_CLUSTER.map((file) => `**/test/${file}.test.ts`),
        '**/test/cluster/**/*.test.ts',
      ],
      setupFiles: ['<rootDir>/test/harness/cluster-mode.ts'],
      globalSetup: '<rootDir>/test/harness/cluster-setup.ts',
      globalTeardown: '<rootDir>/test/harness/cluster-teardown.ts',
    },
  ],
};
