import { access, constants } from 'node:fs/promises';
import net from 'node:net';
import { delimiter, join } from 'node:path';

/** A port the OS says is free now (for Prometheus, which cannot report a port 0 back). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls until `check` returns something other than undefined/false, failing with `what` at the deadline. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The path of an executable on PATH (or at one of `extra`), or undefined. */
/**
 * Where the browser tests look for a Chromium before PATH: `$CHROMIUM_PATH`, Debian's package, and the
 * Google Chrome that GitHub's Ubuntu runners ship (Ubuntu's own `chromium` is a snap).
 */
export const CHROMIUM_CANDIDATES: readonly string[] = [
  ...(process.env['CHROMIUM_PATH'] ? [process.env['CHROMIUM_PATH']] : []),
  '/usr/bin/chromium',
  '/usr/bin/google-chrome',
];

export async function findExecutable(
  name: string,
  extra: readonly string[] = [],
): Promise<string | undefined> {
  for (const candidate of [
    ...extra,
    ...(process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, name)),
  ]) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
