// Jest runs the TypeScript sources as ES modules (cockatiel 4 is ESM-only): @swc/jest strips the
// types, Node's vm modules load them (see the `test` script's --experimental-vm-modules).
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } },
    ],
  },
  testMatch: [
    '<rootDir>/{packages,services}/*/test/**/*.test.ts',
    '<rootDir>/{chaos,k8s,monitoring}/test/**/*.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 30_000,
  // Two lanes: the whole-platform suites one at a time, the rest beside them (packages/jest-lanes).
  runner: '<rootDir>/packages/jest-lanes/src/runner.js',
};
