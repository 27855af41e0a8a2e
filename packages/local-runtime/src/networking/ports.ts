import { readdir, readFile, readlink } from 'node:fs/promises';
import net from 'node:net';

/** A port nothing listens on right now (the kernel's pick). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Binds and releases the port: null when it is free, else the error code (EADDRINUSE, EACCES). */
export function probePort(port: number, host = '127.0.0.1'): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
}

/** The process listening on a TCP port, from /proc (Linux); undefined when unknown. */
export async function portOwner(port: number): Promise<{ pid: number; command: string } | undefined> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A') continue;
      if (Number.parseInt(fields[1]!.split(':')[1]!, 16) === port) inodes.add(fields[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
        return { pid: Number(entry), command: cmdline.split('\0').filter(Boolean).join(' ') };
      }
    }
  }
  return undefined;
}

/** Throws a message saying which process holds the port and what to do, when `port` is taken. */
export async function assertPortFree(port: number, what: string, host = '127.0.0.1'): Promise<void> {
  const problem = await probePort(port, host);
  if (problem === null) return;
  const owner = problem === 'EADDRINUSE' ? await portOwner(port) : undefined;
  const by = owner ? ` by pid ${owner.pid} (${owner.command.slice(0, 120)})` : '';
  const hint = owner?.command.includes('local-runtime')
    ? 'a local runtime is already running: `make status`, or `make down` to stop it'
    : owner
      ? `stop it (kill ${owner.pid}) or free the port, then run make up again`
      : 'free the port (`ss -ltnp` shows who holds it), then run make up again';
  throw new Error(
    `${host}:${port} (${what}) is ${problem === 'EADDRINUSE' ? 'in use' : `unavailable (${problem})`}${by}: ${hint}`,
  );
}
