import { busyPort, freePort } from '../networking/ports.ts';
import { movePort } from './plan.ts';
import type { PlannedPort, RuntimePlan } from './plan.ts';

/** A port the runtime needs is taken: the message names the holder and the flag that moves it. */
export class PortBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortBusyError';
  }
}

function wayOut(port: PlannedPort, problem: string): string {
  // The daemon's command line: node …/local-runtime/src/cli.ts up --daemon …
  if (/local-runtime\/src\/cli\.ts up\b/.test(problem))
    return 'a local runtime is already running: `make status`, or `make down` to stop it';
  const move = `${port.flag} <port>${port.flag === '--front-port' ? ' (order; inventory and notification follow)' : ''}`;
  const pid = /by pid (\d+)/.exec(problem)?.[1];
  return `stop it${pid ? ` (kill ${pid})` : ''}, or start on another port with ${move}`;
}

/**
 * Checks every port of the plan. A taken port of an optional part (Prometheus) moves to a free port
 * and the plan says so; a taken control, front or PostgreSQL port fails with who holds it and which
 * flag moves it. Port 0 (tests) is always free.
 */
export async function checkPorts(plan: RuntimePlan): Promise<RuntimePlan> {
  let checked = plan;
  for (const planned of plan.ports) {
    if (planned.port === 0) continue;
    const problem = await busyPort(planned.port);
    if (problem === undefined) continue;
    if (!planned.optional)
      throw new PortBusyError(`${planned.what}: ${problem}: ${wayOut(planned, problem)}`);
    const instead = await freePort();
    checked = movePort(
      checked,
      planned,
      instead,
      `${planned.what}: ${problem}, so it runs on 127.0.0.1:${instead} instead (${planned.flag} <port> chooses one)`,
    );
  }
  return checked;
}
