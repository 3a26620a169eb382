// Shared jest settings for one package. Each packages/<name>/jest.config.js calls this with its folder.
const path = require('node:path');

module.exports = function packageJestConfig(dir) {
  return {
    displayName: path.basename(dir),
    rootDir: dir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.jest.json') }],
    },
    moduleNameMapper: {
      '^@vigil/([a-z-]+)$': path.join(__dirname, 'packages/$1/src/index.ts'),
    },
    testTimeout: 20000,
  };
};
