import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/**
 * Who may import whom. The product is api/ and workers/ (the processes), shared/ (their common
 * core) and cli/ (the commands users run); load/ is the load tooling; test/ holds the tests and
 * the test-support library, test/harness/, which load/ builds on. Each entry: a folder a file
 * may not import, and why.
 */
const WHY = {
  api: 'api/ and workers/ share code only through shared/',
  workers: 'api/ and workers/ share code only through shared/',
  cli: 'shared/ is the core the processes and the CLI build on, never the other way round',
  load: 'product code and the test-support library never depend on the load tooling',
  test: 'product code never imports test code',
};
const noImportFrom = (...folders) => ({
  'no-restricted-imports': [
    'error',
    {
      patterns: folders.map((folder) => ({
        group: [`**/${folder}`, `**/${folder}/**`],
        message: `Do not import ${folder}/ from here: ${WHY[folder]}.`,
      })),
    },
  ],
});

/**
 * Configuration is parsed once: shared/config.ts for the system; a tool's own options in one
 * place of its entry point (typed, validated, with defaults). The files allowed to read
 * process.env, and why each one is:
 */
const READS_PROCESS_ENV = [
  // The system's configuration: every variable, validated and frozen at start.
  'shared/config.ts',
  // DEV_PLATFORM_PORT: the local receiver's own port, not the system's; parsed once in main.
  'cli/dev-platform.ts',
  // BENCH_DATABASE_SERVER and BENCH_REDIS_URL, and the rest handed on to the system's
  // processes (`ORDERS_IN_FLIGHT=64 npm run bench`); parsed once by load/bench/options.ts.
  'load/bench/main.ts',
  // TEST_DATABASE_URL, TEST_REDIS_URL, TEST_LOG_LEVEL and the Redis Cluster of the `cluster`
  // test project: where the tests find their servers.
  'test/harness/env.ts',
  // Asserts that loadConfig() reads process.env when given no environment.
  'test/config.test.ts',
  // Runs the Redocly CLI, which needs the caller's PATH and HOME.
  'test/api/openapi-document.test.ts',
  // Hands PATH on to the dev receiver it starts with an otherwise exact environment.
  'test/events/dev-platform.test.ts',
];

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'load/results/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-ignore': true, 'ts-nocheck': true }],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Flags winston's transports, whose typings predate the rule; nothing else here trips it.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message:
            'Configuration is parsed once: shared/config.ts, or the tool entry points listed in eslint.config.mjs.',
        },
      ],
    },
  },
  { files: READS_PROCESS_ENV, rules: { 'no-restricted-properties': 'off' } },
  {
    // jest's asymmetric matchers (expect.any, objectContaining) are typed `any`.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['api/**/*.ts'], rules: noImportFrom('workers', 'load', 'test') },
  { files: ['workers/**/*.ts'], rules: noImportFrom('api', 'load', 'test') },
  { files: ['shared/**/*.ts'], rules: noImportFrom('api', 'workers', 'cli', 'load', 'test') },
  { files: ['cli/**/*.ts'], rules: noImportFrom('load', 'test') },
  // The test-support library and the chaos suite are what load/ builds on.
  { files: ['test/harness/**/*.ts', 'test/chaos/**/*.ts'], rules: noImportFrom('load') },
  {
    // The load tooling may use the product and the test-support library, not the tests.
    files: ['load/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/test/*', '!**/test/harness'],
              message: 'load/ may import the test-support library (test/harness/), not the tests.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      parserOptions: { projectService: false },
      globals: { module: 'writable', require: 'readonly', process: 'readonly' },
    },
  },
  prettier,
);
