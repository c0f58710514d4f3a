import type { Config } from 'jest';

// Unit and integration tests: every *.spec.ts under spec/, through ts-jest. End-to-end tests
// live in spec/e2e and run with `npm run test:e2e` (they need Debian's prometheus package).
// module.exports, as in the CommonJS package this is ("type": "commonjs"): Node.js 22 and 24 load
// the file natively, as CommonJS; on Node.js 20 jest compiles it with ts-node.
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

module.exports = config;
