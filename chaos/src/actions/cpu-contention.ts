import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { formatDuration } from '@self-healing-shop/loadgen';
import type { ActionContext } from './context.ts';

/** A busy loop that ends by itself after argv[1] ms, so a burner outlives the tool by that at most. */
const BURN = 'const end = Date.now() + Number(process.argv[1]); while (Date.now() < end);';

/**
 * cpu-contention: one busy child process per core of this machine for the whole run (pod-kill
 * rounds go on meanwhile). Each burner stops after `maxDuration` on its own; the returned function
 * stops them all earlier, when the run ends.
 */
export async function startContention(ctx: ActionContext): Promise<() => Promise<void>> {
  const action = ctx.experiment.action;
  if (action.kind !== 'cpu-contention') throw new Error(`startContention cannot run ${action.kind}`);
  const cores = availableParallelism();
  const burners: ChildProcess[] = [];
  for (let i = 0; i < cores; i++) {
    burners.push(spawn(process.execPath, ['-e', BURN, String(action.maxDuration)], { stdio: 'ignore' }));
  }
  ctx.log(
    'contention-started',
    `${cores} CPU burners (one per core) for at most ${formatDuration(action.maxDuration)}`,
    {
      cores,
      pids: burners.map((b) => b.pid),
    },
  );
  return async () => {
    await Promise.all(
      burners.map(async (burner) => {
        if (burner.exitCode !== null || burner.signalCode !== null) return;
        const exited = once(burner, 'exit');
        burner.kill('SIGKILL');
        await exited;
      }),
    );
    ctx.log('contention-stopped', `${cores} CPU burners stopped`, { cores });
  };
}
