import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import pino from 'pino';
import type { EventLog, RuntimeEvent } from '../src/control-plane/event-log.ts';
import { freePort } from '../src/networking/ports.ts';
import { startRuntime, type Runtime } from '../src/runtime.ts';

export const testDir = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(testDir, '../../..');
export const fixtureServer = path.join(testDir, 'fixtures', 'fixture-server.ts');
export const fixtureManifests = path.join(testDir, 'fixtures', 'k8s');

/** Polls `check` until it returns a value other than undefined/false, failing with `what` after the deadline. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Resolves with the first event after `afterSeq` that matches, as it is appended (or already was). */
export function nextEvent(
  events: EventLog,
  afterSeq: number,
  match: (event: RuntimeEvent) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<RuntimeEvent> {
  const seen = events.after(afterSeq).find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const unsubscribe = events.subscribe((event) => {
      if (event.seq > afterSeq && match(event)) {
        clearTimeout(timer);
        unsubscribe();
        resolve(event);
      }
    });
  });
}

/**
 * The real platform (k8s/base, each service's src/main.ts, embedded PostgreSQL) on ports from the OS, in
 * a new temporary data folder, without Prometheus and the console; the HPAs decide once, at start (no
 * scale-down removes a replica in the middle of a test). The caller stops it and removes the folder.
 */
export async function startPlatform(prefix: string): Promise<{ runtime: Runtime; dataDir: string }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dataDir, 0o755); // PostgreSQL runs as the postgres user when we are root
  const runtime = await startRuntime({
    rootDir: repoRoot,
    dataDir,
    controlPort: 0,
    frontPorts: { order: 0, inventory: 0, notification: 0 },
    postgres: { port: await freePort() },
    prometheus: false,
    console: false,
    hpaIntervalMs: 3_600_000,
    logger: pino({ level: 'silent' }),
  });
  return { runtime, dataDir };
}
