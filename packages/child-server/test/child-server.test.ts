import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findExecutable, freePort, freePorts, httpReady, startChildServer } from '../src/index.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'child-server-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Whether a process with this pid still exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const base = (script: string) => ({
  name: 'fixture',
  command: process.execPath,
  args: ['-e', script],
  startTimeoutMs: 10_000,
  stopTimeoutMs: 5_000,
});

describe('startChildServer', () => {
  it('resolves once the output says ready, logs the output to the file and stops the process', async () => {
    const logFile = path.join(dir, 'out.log');
    const server = await startChildServer({
      ...base(
        "console.log('booting'); setTimeout(() => console.log('ready now'), 300); setInterval(() => {}, 1000);",
      ),
      logFile,
      ready: (output) => output.includes('ready now'),
    });
    expect(server.output()).toContain('booting');
    expect(alive(server.pid)).toBe(true);
    await server.stop();
    expect(alive(server.pid)).toBe(false);
    expect(await readFile(logFile, 'utf8')).toBe('booting\nready now\n');
  });

  it('waits on an HTTP readiness endpoint', async () => {
    const port = await freePort();
    const server = await startChildServer({
      ...base(
        `setTimeout(() => require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1'), 300);`,
      ),
      logFile: path.join(dir, 'out.log'),
      ready: httpReady(`http://127.0.0.1:${port}/-/ready`),
    });
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    await server.stop();
  });

  it('rejects with the last lines of output when the server exits while starting', async () => {
    await expect(
      startChildServer({
        ...base("console.error('bad flag --x'); process.exit(3);"),
        logFile: path.join(dir, 'out.log'),
        ready: () => false,
      }),
    ).rejects.toThrow('fixture exited (code 3) while starting: bad flag --x');
  });

  it('kills a server that is not ready by the deadline and names the log file', async () => {
    const logFile = path.join(dir, 'out.log');
    await expect(
      startChildServer({
        ...base('console.log(process.pid); setInterval(() => {}, 1000);'),
        startTimeoutMs: 500,
        logFile,
        ready: () => false,
      }),
    ).rejects.toThrow(`fixture was not ready within 0.5s: see ${logFile}`);
  });

  it('sends the kill signal when the polite stop is ignored', async () => {
    const server = await startChildServer({
      ...base("process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000);"),
      stopTimeoutMs: 300,
      logFile: path.join(dir, 'out.log'),
      ready: (output) => output.includes('up'),
    });
    await server.stop();
    expect(alive(server.pid)).toBe(false);
  });

  it('rejects when the command cannot be spawned', async () => {
    await expect(
      startChildServer({
        ...base(''),
        command: path.join(dir, 'missing-binary'),
        logFile: path.join(dir, 'out.log'),
        ready: () => true,
      }),
    ).rejects.toThrow(/ENOENT/);
  });
});

describe('findExecutable and freePort', () => {
  it('finds the first of the names on PATH, in the order of the names', async () => {
    const node = path.basename(process.execPath);
    const found = await findExecutable(['no-such-binary-here', node], path.dirname(process.execPath));
    expect(found).toBe(process.execPath);
    expect(await findExecutable(['no-such-binary-here'], path.dirname(process.execPath))).toBeUndefined();
  });

  it('hands out a port that can be listened on', async () => {
    const port = await freePort();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => server.close(resolve));
  });

  it('hands out ports below the ephemeral range, never the same one twice in a process', async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(50);
    // Linux's ephemeral range starts at 32768 (macOS's at 49152): no outgoing connection takes these.
    for (const port of ports) expect(port).toBeLessThan(32_768);
  });

  it('hands out consecutive ports that can each be listened on', async () => {
    const base = await freePorts(3);
    for (const port of [base, base + 1, base + 2]) {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      await new Promise((resolve) => server.close(resolve));
    }
    await expect(freePorts(0)).rejects.toThrow(/count must be an integer from 1 to 100, got 0/);
  });
});
