import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { Fault } from '../src/fault-injection.ts';

const SERVER = fileURLToPath(new URL('./fixtures/freeze-server.ts', import.meta.url));
let child: ChildProcess | undefined;

afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

/** Starts the fixture replica in its own process and returns its base URL. */
async function startReplica(): Promise<string> {
  const proc = spawn(process.execPath, [SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  child = proc;
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    proc.once('exit', (code) => reject(new Error(`the replica exited with ${code} before listening`)));
  });
  return `http://127.0.0.1:${port}`;
}

async function activeFaults(base: string): Promise<Fault[]> {
  return ((await (await fetch(`${base}/admin/faults`)).json()) as { items: Fault[] }).items;
}

describe('freeze fault', () => {
  it('answers the admin request, then answers nothing until the freeze is over', async () => {
    const base = await startReplica();
    const created = await fetch(`${base}/admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'freeze', durationMs: 1_500 }),
    });
    expect(created.status).toBe(201);
    const fault = (await created.json()) as Fault;
    expect(fault).toMatchObject({ type: 'freeze', durationMs: 1_500, probability: 1 });

    // Sent while frozen: the fault stays listed until it expires, so an answer that no longer lists it
    // was produced after the freeze ended. Had the loop not been blocked, both would list it.
    const [health, faults] = await Promise.all([fetch(`${base}/health`), activeFaults(base)]);
    expect(health.status).toBe(200);
    expect(faults).toEqual([]);
  });

  it('requires durationMs and refuses fields that select requests', async () => {
    const base = await startReplica();
    for (const [body, path] of [
      [{ type: 'freeze' }, 'durationMs'],
      [{ type: 'freeze', durationMs: 100, route: '/orders' }, 'route'],
    ] as const) {
      const res = await fetch(`${base}/admin/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: Array<{ path: string }> }).errors[0]?.path).toBe(path);
    }
    expect(await activeFaults(base)).toEqual([]);
  });
});
