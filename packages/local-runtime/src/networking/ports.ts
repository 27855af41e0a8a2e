import { readdir, readFile, readlink } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export { freePort } from '@self-healing-shop/child-server';

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

/** `ss -ltnp` knows holders that /proc does not show this process (another user's, without privileges). */
async function ssHolder(port: number): Promise<{ pid: number; command: string } | undefined> {
  const output = await run('ss', ['-Hltnp', `sport = :${port}`], { timeout: 2_000 }).then(
    (r) => r.stdout,
    () => '',
  );
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(output);
  return match ? { pid: Number(match[2]), command: match[1]! } : undefined;
}

/** Who holds a TCP port: pid and command line from /proc, else from `ss -ltnp`; undefined when neither tells. */
export async function portHolder(port: number): Promise<{ pid: number; command: string } | undefined> {
  return (await portOwner(port)) ?? (await ssHolder(port));
}

/** Why `port` cannot be used, naming its holder; undefined when it is free. */
export async function busyPort(port: number, host = '127.0.0.1'): Promise<string | undefined> {
  const problem = await probePort(port, host);
  if (problem === null) return undefined;
  if (problem !== 'EADDRINUSE') return `${host}:${port} is unavailable (${problem})`;
  const holder = await portHolder(port);
  return holder
    ? `${host}:${port} is in use by pid ${holder.pid} (${holder.command.slice(0, 120)})`
    : `${host}:${port} is in use (\`ss -ltnp 'sport = :${port}'\` shows by whom)`;
}
