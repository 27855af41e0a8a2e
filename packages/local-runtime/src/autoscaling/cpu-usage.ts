import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU time (user + system) a process has used, in seconds, from /proc/<pid>/stat; undefined when unreadable. */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / ticksPerSecond();
}

/** Per-process CPU usage in cores between two calls of `sample`, like the metrics-server's rate. */
export class CpuSampler {
  readonly #last = new Map<number, { cpu: number; at: number }>();
  readonly #now: () => number;
  readonly #read: (pid: number) => Promise<number | undefined>;

  constructor(options: { now?: () => number; read?: (pid: number) => Promise<number | undefined> } = {}) {
    this.#now = options.now ?? (() => performance.now());
    this.#read = options.read ?? processCpuSeconds;
  }

  /** Cores used by each pid since its previous sample (pids seen for the first time have none yet). */
  async sample(pids: readonly number[]): Promise<Map<number, number>> {
    const usage = new Map<number, number>();
    const seen = new Set<number>();
    for (const pid of pids) {
      const cpu = await this.#read(pid);
      if (cpu === undefined) continue;
      const at = this.#now();
      seen.add(pid);
      const previous = this.#last.get(pid);
      if (previous && at > previous.at)
        usage.set(pid, Math.max(0, cpu - previous.cpu) / ((at - previous.at) / 1000));
      this.#last.set(pid, { cpu, at });
    }
    for (const pid of this.#last.keys()) if (!seen.has(pid)) this.#last.delete(pid);
    return usage;
  }
}
