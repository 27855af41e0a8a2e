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
  // Jest's default worker count (one core left free: one worker on 2 cores). Two workers on 2 cores ran
  // the suite in 488-520 s instead of ~760 s, but two whole-platform e2e suites at once overloaded the
  // machine: in a CI run local.e2e's pod-kill lost 4 of 347 orders to 504s (README, Testing).
};
