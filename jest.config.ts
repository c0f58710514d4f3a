import type { Config } from 'jest';

// Unit and integration tests: every *.spec.ts under spec/, through ts-jest. End-to-end tests
// live in spec/e2e and run with `npm run test:e2e` (they need Debian's prometheus package).
// A default export, unlike lib/: it is what jest reads.
const config: Config = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/spec/e2e/'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
  },
};

export default config;
