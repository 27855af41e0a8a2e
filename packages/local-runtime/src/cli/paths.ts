import { readFileSync } from 'node:fs';
import { DEFAULT_CONTROL_URL } from '@self-healing-shop/contracts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is packages/local-runtime/src/cli/paths.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

export interface RuntimePaths {
  readonly dataDir: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly logsDir: string;
}

export function runtimePaths(dataDir = path.join(repoRoot, '.data')): RuntimePaths {
  const dir = path.resolve(repoRoot, dataDir);
  return {
    dataDir: dir,
    pidFile: path.join(dir, 'runtime.pid'),
    logFile: path.join(dir, 'runtime.log'),
    logsDir: path.join(dir, 'logs'),
  };
}

/** The control API's URL: LOCAL_RUNTIME_CONTROL_URL, else 127.0.0.1:<port>. */
export function controlUrl(port?: number): string {
  return (
    process.env['LOCAL_RUNTIME_CONTROL_URL'] ??
    (port === undefined ? DEFAULT_CONTROL_URL : `http://127.0.0.1:${port}`)
  );
}

/** The pid in the pid file when that process is alive and is a local runtime; else undefined. */
export function runningDaemon(pidFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
  } catch {
    return undefined;
  }
  try {
    // A recycled pid belongs to something else: only a local runtime counts.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('local-runtime')) return undefined;
  } catch {
    // No /proc (macOS): trust the pid file.
  }
  return pid;
}
