// A replica's processes are signalled as a container's cgroup is: the main process's group and every
// descendant, also one that left the group for a session of its own (as PostgreSQL's backends do).
import { afterEach, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { anyAlive, descendantsOf, signalProcessTree } from '../src/supervision/process-tree.ts';
import { waitFor } from './helpers.ts';

// The main process (own group, as the runtime spawns it) starts one child in its group and one that
// calls setsid() (Node's `detached`), then prints their pids.
const MAIN = `
const { spawn } = require('node:child_process');
const sleeper = ['-e', 'setInterval(() => {}, 1000)'];
const inGroup = spawn(process.execPath, sleeper, { stdio: 'ignore' });
const ownSession = spawn(process.execPath, sleeper, { stdio: 'ignore', detached: true });
console.log(JSON.stringify({ inGroup: inGroup.pid, ownSession: ownSession.pid }));
setInterval(() => {}, 1000);
`;

/** The process's state letter from `ps` (T stopped, S sleeping, R running), or undefined once it is gone. */
function stateOf(pid: number): string | undefined {
  const ps = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' });
  const state = ps.stdout.trim();
  return state === '' ? undefined : state[0];
}

let main: ChildProcess | undefined;
let pids: number[] = [];
afterEach(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  pids = [];
  main = undefined;
});

async function startTree(): Promise<{ main: number; inGroup: number; ownSession: number }> {
  main = spawn(process.execPath, ['-e', MAIN], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(main.stdout!, 'data')) as [Buffer];
  const { inGroup, ownSession } = JSON.parse(line.toString()) as { inGroup: number; ownSession: number };
  pids = [main.pid!, inGroup, ownSession];
  return { main: main.pid!, inGroup, ownSession };
}

describe('signalling a replica as a container', () => {
  it('lists every descendant, also one in a session of its own', async () => {
    const tree = await startTree();
    expect(descendantsOf(tree.main).sort()).toEqual([tree.inGroup, tree.ownSession].sort());
    expect(descendantsOf(tree.ownSession)).toEqual([]);
  });

  it('freezes and thaws every process, the one that left the process group included', async () => {
    const tree = await startTree();
    signalProcessTree(tree.main, 'SIGSTOP');
    await waitFor(
      () => [tree.main, tree.inGroup, tree.ownSession].every((pid) => stateOf(pid) === 'T'),
      'all three stopped',
      10_000,
    );
    signalProcessTree(tree.main, 'SIGCONT');
    await waitFor(
      () => [tree.main, tree.inGroup, tree.ownSession].every((pid) => stateOf(pid) !== 'T'),
      'all three running again',
      10_000,
    );
  });

  it('kills every process at once, so no child lives on without its parent', async () => {
    const tree = await startTree();
    const exited = once(main!, 'exit');
    signalProcessTree(tree.main, 'SIGKILL');
    await exited;
    // The children are not this test's to reap: dead is gone or a zombie (Z) until init reaps it.
    const dead = (pid: number) => ['Z', undefined].includes(stateOf(pid));
    await waitFor(() => dead(tree.inGroup) && dead(tree.ownSession), 'both children gone', 10_000);
  });

  it('counts a zombie among the processes waited for as gone, as a container whose PID 1 reaps nothing leaves one', async () => {
    // `sleep 30` (bash's exec) never reaps bash's background child: it stays a zombie once it exits.
    const parent = spawn('bash', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    pids = [parent.pid!];
    const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
    const child = Number(line.toString().trim());
    expect(anyAlive([], [child])).toBe(true);
    await waitFor(() => stateOf(child) === 'Z', 'the child a zombie', 10_000);
    expect(anyAlive([], [child])).toBe(false);
    // Its parent lives on, and counts.
    expect(anyAlive([], [parent.pid!, child])).toBe(true);
  });
});
