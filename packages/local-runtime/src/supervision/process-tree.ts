// A replica's processes as a container's cgroup holds them: its process group and every descendant,
// including those that left the group (PostgreSQL's backends call setsid() at start, so a signal to the
// postmaster's group reaches the postmaster alone).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * The fields of /proc/<pid>/stat after `pid (comm)`: state, ppid, pgrp, … (comm may hold spaces and
 * parentheses, so they are read after the last ')'). Throws when there is no such process or no /proc.
 */
function statFields(pid: number | string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Each running process's parent: /proc on Linux, `ps` where there is none (macOS). */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  let entries: string[] | undefined;
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    entries = undefined;
  }
  if (entries && entries.length > 0) {
    for (const entry of entries) {
      try {
        const ppid = Number(statFields(entry)[1]);
        if (Number.isInteger(ppid)) parents.set(Number(entry), ppid);
      } catch {
        // Gone meanwhile.
      }
    }
    return parents;
  }
  const listing = execFileSync('ps', ['-A', '-o', 'pid=', '-o', 'ppid='], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  for (const line of listing.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (Number.isInteger(pid) && Number.isInteger(ppid)) parents.set(pid!, ppid!);
  }
  return parents;
}

/** The processes descended from `pid` (children, their children, …), nearest first. */
export function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const [child, parent] of parentsByPid()) {
    const list = children.get(parent);
    if (list) list.push(child);
    else children.set(parent, [child]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function send(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Signals every process of a replica whose main process `pid` leads its own process group: the group,
 * and each descendant that left it. For SIGKILL and SIGSTOP the group is stopped first, so that nothing
 * forks while the descendants are listed and a dying parent does not hand its children to init before
 * they are found. Returns the descendants it signalled. When the processes cannot be listed (no /proc
 * and no `ps`), the group alone gets the signal, as before.
 */
export function signalProcessTree(pid: number, signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): number[] {
  if (signal !== 'SIGCONT') send(-pid, 'SIGSTOP');
  let descendants: number[] = [];
  try {
    descendants = descendantsOf(pid);
  } catch {
    // Listing failed: the group below still gets the signal.
  }
  for (const descendant of descendants) send(descendant, signal);
  send(-pid, signal);
  return descendants;
}

/**
 * Whether a process is a zombie: dead, waiting for its parent to reap it. A killed backend whose
 * postmaster died too is reparented to PID 1, and in a container whose PID 1 reaps nothing (`sleep`,
 * `cat`, a shell as a CI agent's entry point) it stays one for good. Linux only (/proc); false elsewhere.
 */
function isZombie(pid: number): boolean {
  try {
    return statFields(pid)[0] === 'Z';
  } catch {
    return false;
  }
}

/**
 * Whether any of the process `groups` still has a process (a zombie counts: the group lives until it is
 * reaped), or any of the `pids` is alive (a zombie does not count: it holds no port and no memory).
 */
export function anyAlive(groups: readonly number[], pids: readonly number[]): boolean {
  for (const group of groups) {
    try {
      process.kill(-group, 0);
      return true;
    } catch {
      // gone
    }
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 0);
      if (!isZombie(pid)) return true;
    } catch {
      // gone
    }
  }
  return false;
}
