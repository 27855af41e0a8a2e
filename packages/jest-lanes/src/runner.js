// Jest's test runner, in two lanes (issue 12: CI time). The suites that run the whole platform
// (`*.e2e.test.ts`, `*.integration.test.ts`: replicas of every service, their PostgreSQL, Prometheus,
// chaos under load) go one at a time in a worker of their own; every other suite runs beside them in
// the remaining workers (at least one). Two platforms at once overloaded a 2-core machine (a CI run lost
// 4 of 347 orders to 504s), while one platform beside the unit and service suites keeps both cores busy
// without that. `--runInBand` (and `--detectOpenHandles`, which needs it) still runs everything in one
// process, one suite after the other.
import TestRunner from 'jest-runner';

const PLATFORM_SUITE = /\.(e2e|integration)\.test\.[cm]?[jt]s$/;

export default class LanesRunner {
  supportsEventEmitters = true;
  isSerial = false;

  constructor(globalConfig, context) {
    this.globalConfig = globalConfig;
    this.single = new TestRunner(globalConfig, context);
    this.platform = new TestRunner({ ...globalConfig, maxWorkers: 1 }, context);
    this.rest = new TestRunner(
      { ...globalConfig, maxWorkers: Math.max(1, globalConfig.maxWorkers - 1) },
      context,
    );
  }

  // Jest's listeners see every lane's events (test-file-start/success/failure, test-case-*).
  on(eventName, listener) {
    const unsubscribes = [this.single, this.platform, this.rest].map((runner) =>
      runner.on(eventName, listener),
    );
    return () => unsubscribes.forEach((unsubscribe) => unsubscribe());
  }

  async runTests(tests, watcher, options) {
    const { runInBand, detectOpenHandles } = this.globalConfig;
    const platform = tests.filter((test) => PLATFORM_SUITE.test(test.path));
    const rest = tests.filter((test) => !PLATFORM_SUITE.test(test.path));
    // Asked for one process: every suite in it, one after the other. Only platform suites: still one at
    // a time. No platform suite: Jest's own choice. Jest's `options.serial` is not followed otherwise:
    // it is true whenever maxWorkers is 1, which is the default on 2 cores, where the lanes matter most.
    if (runInBand || detectOpenHandles) return this.single.runTests(tests, watcher, options);
    if (rest.length === 0) return this.platform.runTests(platform, watcher, options);
    if (platform.length === 0) return this.single.runTests(tests, watcher, options);
    // Both lanes run to their end before a failure of either is passed on, so no worker is left running.
    const lanes = await Promise.allSettled([
      this.platform.runTests(platform, watcher, { serial: false }),
      this.rest.runTests(rest, watcher, { serial: false }),
    ]);
    const failed = lanes.find((lane) => lane.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
