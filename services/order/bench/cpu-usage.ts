// CPU time (user + system) of the bench's process tree, read from /proc (Linux; empty elsewhere). CPU per
// order does not depend on what else the machine is running, unlike orders/s on a shared machine.
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

interface Stat {
  readonly pid: number;
  readonly ppid: number;
  readonly comm: string;
  readonly cpuMs: number;
}

function stat(pid: string): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return {
      pid: Number(pid),
      ppid: Number(fields[1]),
      comm: text.slice(text.indexOf('(') + 1, close),
      cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
    };
  } catch {
    return undefined; // exited meanwhile, or not Linux
  }
}

/**
 * CPU milliseconds used so far per group: `names` maps a child pid to its group; descendants of a named
 * child count in its group, other descendants of this process by command name (`postgres`), this process
 * itself as `bench`.
 */
export function cpuByGroup(names: ReadonlyMap<number, string>): Map<string, number> {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return new Map();
  }
  const stats = new Map<number, Stat>();
  for (const pid of pids) {
    const s = stat(pid);
    if (s) stats.set(s.pid, s);
  }
  const groupOf = (s: Stat): string | undefined => {
    for (let current: Stat | undefined = s, name = s.comm; current; current = stats.get(current.ppid)) {
      if (current.pid === process.pid) return current === s ? 'bench' : name;
      const named = names.get(current.pid);
      if (named) return named;
      if (current.comm === 'postgres') name = 'postgres';
    }
    return undefined;
  };
  const totals = new Map<string, number>();
  for (const s of stats.values()) {
    const group = groupOf(s);
    if (group) totals.set(group, (totals.get(group) ?? 0) + s.cpuMs);
  }
  return totals;
}

/** CPU milliseconds per group between two readings. */
export function cpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([group, ms]) => [group, ms - (before.get(group) ?? 0)]));
}
