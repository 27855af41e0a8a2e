import { rmSync } from 'node:fs';
import { runningDaemon, runtimePaths } from './paths.ts';

const STOP_TIMEOUT_MS = 180_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `down`: SIGTERM to the daemon, which terminates replicas (preStop, grace), Prometheus and PostgreSQL. */
export async function down(dataDir?: string): Promise<number> {
  const paths = runtimePaths(dataDir);
  const pid = runningDaemon(paths.pidFile);
  if (!pid) {
    rmSync(paths.pidFile, { force: true });
    console.log('the local runtime is not running');
    return 0;
  }
  const started = Date.now();
  console.log(
    `stopping the local runtime (pid ${pid}): replicas drain, then the console, Prometheus, Alertmanager and PostgreSQL stop`,
  );
  process.kill(pid, 'SIGTERM');
  while (alive(pid)) {
    if (Date.now() - started > STOP_TIMEOUT_MS) {
      console.error(
        `still running after ${STOP_TIMEOUT_MS / 1000}s: sending SIGKILL (replicas it started may remain; the next make up stops them)`,
      );
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  rmSync(paths.pidFile, { force: true });
  console.log(
    `stopped in ${((Date.now() - started) / 1000).toFixed(1)}s; data kept in ${paths.dataDir} (make clean deletes .data)`,
  );
  return 0;
}
