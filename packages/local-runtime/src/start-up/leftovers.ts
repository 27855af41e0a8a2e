import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { anyAlive, signalProcessTree } from '../supervision/process-tree.ts';

/** One running replica, as the runtime records it for the next start. */
export interface LeftoverEntry {
  readonly pid: number;
  readonly name: string;
}

/**
 * Replica processes (and the database) a previous runtime left behind (killed with SIGKILL) still
 * hold ports: stop them. Only processes whose environment still says `POD_NAME=<name>` are touched,
 * so a recycled pid is left alone.
 */
export async function stopLeftovers(file: string, logger: Logger): Promise<number> {
  const text = await readFile(file, 'utf8').catch(() => '[]');
  let entries: LeftoverEntry[];
  try {
    entries = JSON.parse(text) as LeftoverEntry[];
  } catch {
    return 0;
  }
  let stopped = 0;
  const descendants: number[] = [];
  for (const { pid, name } of entries) {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (!environ.split('\0').includes(`POD_NAME=${name}`)) continue;
    logger.warn({ pid, replica: name }, `stopping ${name} (pid ${pid}), left by a runtime that was killed`);
    // Every process of it: a left-over PostgreSQL's backends (in sessions of their own) hold its port too.
    descendants.push(...signalProcessTree(pid, 'SIGKILL'));
    stopped += 1;
  }
  if (stopped > 0)
    await groupsGone(
      entries.map((e) => e.pid),
      descendants,
    );
  return stopped;
}

async function groupsGone(groups: readonly number[], others: readonly number[]): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (anyAlive(groups, others) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
}
