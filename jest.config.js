/** Tests run against the real MariaDB and Redis; each file gets its own database and Redis prefix. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};
