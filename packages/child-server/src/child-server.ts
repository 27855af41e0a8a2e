// One way to run a server as a child process: start it with its output appended to a log file, wait
// until it says it is ready (or exits, or a deadline passes), and stop it politely, then firmly.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/** How much of the server's latest output is kept for readiness checks and error messages. */
const OUTPUT_TAIL_CHARS = 4000;
const READY_POLL_MS = 200;

export interface ChildServerOptions {
  /** Names the server in error messages (`prometheus`, `postgres`). */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Run as this user and group (PostgreSQL as `postgres` when started by root). */
  readonly uid?: number;
  readonly gid?: number;
  /**
   * Whether the server is ready, given the tail of its output: asked whenever it writes and every
   * 200 ms (an HTTP readiness probe ignores the output).
   */
  readonly ready: (output: string) => boolean | Promise<boolean>;
  readonly startTimeoutMs: number;
  /** The polite stop (SIGTERM by default), then `killSignal` after `stopTimeoutMs`. */
  readonly stopSignal?: NodeJS.Signals;
  /** Also sent when the server is not ready in time (SIGKILL by default). */
  readonly killSignal?: NodeJS.Signals;
  readonly stopTimeoutMs: number;
}

export interface ChildServer {
  readonly pid: number;
  /** The tail of what it wrote so far. */
  output(): string;
  /** Stops it (when still running) and closes its log. */
  stop(): Promise<void>;
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The last `count` lines of a text, joined on one line. */
function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

/**
 * Starts the server detached (in a process group of its own) and resolves once `ready` holds. Rejects
 * when it cannot be spawned, exits while starting (with its last lines of output) or is not ready
 * within `startTimeoutMs` (it is then killed).
 */
export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(options.command, [...options.args], {
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
    ...(options.env ? { env: options.env } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let wake: (() => void) | undefined;
  const onData = (chunk: Buffer): void => {
    log.write(chunk);
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    wake?.();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let failure: Error | undefined;
  let exit: Exit | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      wake?.();
      resolve();
    }),
  );
  child.once('error', (error) => {
    failure = error;
    wake?.();
  });
  const closeLog = () => new Promise<void>((resolve) => log.end(resolve));
  if (child.pid === undefined) {
    // Not spawned (no such binary, not executable): 'error' follows on the next tick.
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    await closeLog();
    throw error;
  }

  const deadline = Date.now() + options.startTimeoutMs;
  for (;;) {
    if (failure) {
      await closeLog();
      throw failure;
    }
    if (exit) {
      await closeLog();
      const how = exit.signal ?? `code ${exit.code}`;
      const said = lastLines(output, 3) || `see ${options.logFile}`;
      throw new Error(`${options.name} exited (${how}) while starting: ${said}`);
    }
    if (await options.ready(output)) break;
    if (Date.now() > deadline) {
      child.kill(options.killSignal ?? 'SIGKILL');
      throw new Error(
        `${options.name} was not ready within ${options.startTimeoutMs / 1000}s: see ${options.logFile}`,
      );
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, READY_POLL_MS);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    wake = undefined;
  }

  return {
    pid: child.pid!,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(options.stopSignal ?? 'SIGTERM');
        const timer = setTimeout(() => child.kill(options.killSignal ?? 'SIGKILL'), options.stopTimeoutMs);
        await exited;
        clearTimeout(timer);
      }
      await closeLog();
    },
  };
}

/** A readiness check for servers with an HTTP readiness endpoint (`/-/ready` of Prometheus, Alertmanager). */
export function httpReady(url: string): () => Promise<boolean> {
  return () =>
    fetch(url).then(
      (response) => response.ok,
      () => false,
    );
}
