import type { Config } from 'jest';

/** One jest project per package; tests run from TypeScript sources, no build needed. */
const config: Config = {
  projects: ['<rootDir>/packages/*/jest.config.js'],
  testTimeout: 20000,
};

export default config;
