import { createServer } from 'node:net';

/**
 * Where free ports are drawn from: below the ephemeral ranges (Linux 32768–60999, macOS and Windows
 * 49152–65535) that `listen(0)` and every outgoing connection's local port come from. A port the kernel
 * handed out by `listen(0)` goes back to that pool the moment it is released, and a busy machine's next
 * outgoing connection can take it before the child binds it (Prometheus failing with "address already in
 * use" while a test suite runs beside it). Below the range only a listener can take it.
 */
const FIRST = 20_000;
const LAST = 32_000;

/** Ports this process handed out already: two children of one process never get the same one. */
const handedOut = new Set<number>();

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive ports free on `host` now, for servers that bind them themselves (child processes
 * such as Prometheus, PostgreSQL or a replica cannot take a socket handed over, nor report a port of the
 * kernel's choice); returns the first. Drawn at random (parallel test workers rarely meet), never the
 * same twice in one process, and checked by binding each.
 */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number> {
  if (!(Number.isInteger(count) && count >= 1 && count <= 100))
    throw new RangeError(`count must be an integer from 1 to 100, got ${count}`);
  for (let attempt = 0; attempt < 1_000; attempt++) {
    const base = FIRST + Math.floor(Math.random() * (LAST - FIRST - count));
    let free = true;
    for (let i = 0; i < count && free; i++)
      free = !handedOut.has(base + i) && (await bindable(base + i, host));
    if (free) {
      for (let i = 0; i < count; i++) handedOut.add(base + i);
      return base;
    }
  }
  throw new Error(`no ${count} free consecutive ports on ${host} between ${FIRST} and ${LAST}`);
}

/** One free port (see freePorts). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return freePorts(1, host);
}
