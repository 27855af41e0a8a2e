import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventLog, RuntimeEvent } from '../src/control-plane/event-log.ts';

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
