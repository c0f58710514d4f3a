import type { Config } from 'jest';

// End-to-end tests against real programs (Debian's prometheus and promtool, Chromium). Run by
// `npm run test:e2e` after .ci/run has installed them; one at a time, since they start servers.
const config: Config = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/spec/e2e'],
  testMatch: ['**/*.e2e.spec.ts'],
  testTimeout: 120_000,
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
};

module.exports = config;
