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
  // One worker per core, where Jest's default leaves one core free: most suites wait on the processes
  // they start (PostgreSQL, replicas, Prometheus, Chromium), so on 2 cores two workers ran the whole
  // suite in 520 s instead of ~760 s. Workers rarely meet on a port: child processes get theirs at random below the ephemeral range (child-server's freePort), checked by binding.
  maxWorkers: '100%',
};
