// Two projects: `unit` (no servers) and `integration` (real NATS and Postgres; files *.int.spec.ts).
// Sources run through SWC with decorator metadata on (NestJS DI needs it); libs resolve to src/.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

const moduleNameMapper = {
  '^@swarm-mesh/(contracts|messaging|persistence|telemetry|testing|service-kit|agent-sdk)$': '<rootDir>/libs/$1/src',
};

const common = {
  rootDir: __dirname,
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper,
  testEnvironment: 'node',
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/', '<rootDir>/.data/'],
};

module.exports = {
  // integration suites start real processes; per-test deadlines are enforced by `eventually`
  testTimeout: 120000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/**/test/**/*.spec.ts', '<rootDir>/**/src/**/*.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/', '\\.int\\.spec\\.ts$', '\\.e2e\\.spec\\.ts$', '\\.chaos\\.spec\\.ts$'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/**/test/**/*.int.spec.ts', '<rootDir>/**/test/**/*.e2e.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
    },
  ],
};

// The reliability suite (kill -9, broker and database restarts, long runs) is its own command:
// `npm run test:chaos` (SWARM_CHAOS=1). It is not part of `npm test`.
if (process.env.SWARM_CHAOS === '1') {
  module.exports.projects = [
    {
      ...common,
      displayName: 'chaos',
      testMatch: ['<rootDir>/test/chaos/**/*.chaos.spec.ts'],
      testPathIgnorePatterns: ['/node_modules/'],
    },
  ];
  module.exports.testTimeout = 900000;
}
