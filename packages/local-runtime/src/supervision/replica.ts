import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { ReplicaPhase } from '@self-healing-shop/contracts';
import type { PodSpec, ProbeSpec } from '../manifests/deployment-spec.ts';
import { httpProbe, ProbeLoop } from './probe.ts';
import { signalProcessTree } from './process-tree.ts';

/** One probe attempt against the replica's port: true when it passes. */
export type ProbeCheck = (port: number, probe: ProbeSpec) => Promise<boolean>;

/** How to run one replica's process. */
export interface ProcessLaunch {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly logFile: string;
  /** What it runs, as the `started` event names it (a Deployment's replica: its bundle or main.ts). */
  readonly program?: string;
  /** Run as this user (PostgreSQL refuses to run as root). */
  readonly uid?: number;
  readonly gid?: number;
}

export interface ReplicaHooks {
  /** Routing changed: readiness flipped (probe) or the replica stopped serving (terminating, exited). */
  readyChanged(replica: Replica, ready: boolean, byProbe: boolean): void;
  /** The startup or liveness probe reached its failureThreshold. */
  probeFailed(replica: Replica, probe: 'startup' | 'liveness', failures: number): void;
  /** The process is running (it has a pid). */
  spawned(replica: Replica): void;
  exited(replica: Replica, code: number | null, signal: NodeJS.Signals | null): void;
}

/** What a replica is created with: its identity, pod template and counters as Replica holds them, and its probe. */
export interface ReplicaInit extends Pick<
  Replica,
  'name' | 'uid' | 'spec' | 'templateGeneration' | 'restarts' | 'crashes'
> {
  /** How a probe is run (default: the kubelet's HTTP GET). */
  readonly check?: ProbeCheck;
}

/** One pod: a process group with its probes, readiness and termination (preStop, stop signal, grace, SIGKILL). */
export class Replica {
  readonly name: string;
  readonly uid: string;
  readonly spec: PodSpec;
  readonly templateGeneration: number;
  readonly restarts: number;
  readonly crashes: number;
  readonly #check: ProbeCheck;
  readonly createdAt = Date.now();
  port: number | null = null;
  pid: number | null = null;
  /** Processes outside its group that the last SIGKILL reached (PostgreSQL's backends): waited for too. */
  killedDescendants: readonly number[] = [];
  /** What the process runs, when its launch says (`ProcessLaunch.program`). */
  program: string | null = null;
  phase: ReplicaPhase = 'starting';
  ready = false;
  startedAt: number | null = null;
  readyAt: number | null = null;
  exitedAt: number | null = null;
  /** The controller wants it gone for good (rollout, scale-down, shutdown): no replacement. */
  removal = false;
  /** Killed through the control API (like deleting a pod): replaced without counting as a crash. */
  deleted = false;
  readonly #hooks: ReplicaHooks;
  #child: ChildProcess | undefined;
  #probes: ProbeLoop[] = [];
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  #preStopTimer: ReturnType<typeof setTimeout> | undefined;
  #exited: Promise<void>;
  #resolveExited!: () => void;
  #done = false;

  constructor(init: ReplicaInit, hooks: ReplicaHooks) {
    this.name = init.name;
    this.uid = init.uid;
    this.spec = init.spec;
    this.templateGeneration = init.templateGeneration;
    this.restarts = init.restarts;
    this.crashes = init.crashes;
    this.#check = init.check ?? httpProbe;
    this.#hooks = hooks;
    this.#exited = new Promise((resolve) => (this.#resolveExited = resolve));
  }

  get exited(): Promise<void> {
    return this.#exited;
  }

  get hasExited(): boolean {
    return this.#done;
  }

  /** Starts the process on `port`; a spawn failure is reported as an exit (code 127), like a crash. */
  launch(port: number, launch: ProcessLaunch): void {
    if (this.#done || this.phase === 'terminating') {
      this.#finish(null, 'SIGKILL');
      return;
    }
    this.port = port;
    this.startedAt = Date.now();
    this.program = launch.program ?? null;
    const log = openSync(launch.logFile, 'a');
    try {
      this.#child = spawn(launch.command, launch.args, {
        cwd: launch.cwd,
        env: launch.env,
        ...(launch.uid === undefined ? {} : { uid: launch.uid }),
        ...(launch.gid === undefined ? {} : { gid: launch.gid }),
        stdio: ['ignore', log, log],
        // Own process group: a terminal's Ctrl-C reaches the runtime, which then stops replicas in order.
        detached: true,
      });
    } finally {
      closeSync(log);
    }
    this.#child.on('error', () => this.#finish(127, null));
    this.#child.on('exit', (code, signal) => this.#finish(code, signal));
    if (this.#child.pid === undefined) return;
    this.pid = this.#child.pid;
    this.#hooks.spawned(this);
    this.#startProbes();
  }

  /**
   * Sends a signal now (control API, or SIGKILL at the end of the grace period). SIGKILL, SIGSTOP and
   * SIGCONT reach every process of the replica, as they reach a whole container (its cgroup): the
   * process group and each descendant that left it (PostgreSQL's backends run in sessions of their
   * own). A stop signal goes to the main process, which stops its own children.
   */
  signal(signal: NodeJS.Signals): void {
    if (this.pid === null || this.#done) return;
    if (signal === 'SIGKILL' || signal === 'SIGSTOP' || signal === 'SIGCONT') {
      const descendants = signalProcessTree(this.pid, signal);
      if (signal === 'SIGKILL') this.killedDescendants = descendants;
      return;
    }
    try {
      process.kill(this.pid, signal);
    } catch {
      // Already gone: the exit event follows.
    }
  }

  /** Out of routing and probing at once (a deleted pod leaves its Service's endpoints before it dies). */
  stopServing(): void {
    this.#stopProbes();
    this.#setReady(false, false);
  }

  /** Kubernetes termination: out of routing at once, preStop sleep, SIGTERM, SIGKILL after the grace period. */
  terminate(): Promise<void> {
    if (this.phase === 'terminating' || this.#done) return this.#exited;
    this.phase = 'terminating';
    this.#stopProbes();
    this.#setReady(false, false);
    if (this.pid === null) {
      // Not spawned yet (or in back-off): nothing to stop.
      if (!this.#child) this.#finish(null, null);
      return this.#exited;
    }
    const { preStopSleepMs, terminationGracePeriodMs } = this.spec;
    this.#preStopTimer = setTimeout(
      () => this.signal(this.spec.stopSignal),
      Math.min(preStopSleepMs, terminationGracePeriodMs),
    );
    // Like the kubelet, a preStop hook that outlasts the grace period gets 2 s more for SIGTERM.
    const killAfter =
      preStopSleepMs >= terminationGracePeriodMs
        ? terminationGracePeriodMs + 2_000
        : terminationGracePeriodMs;
    this.#killTimer = setTimeout(() => this.signal('SIGKILL'), killAfter);
    return this.#exited;
  }

  /** The process could not be prepared (no port, no log file): reported as a crash. */
  launchFailed(): void {
    this.#finish(127, null);
  }

  /** A replica that exited waits here, out of routing, until its back-off ends. */
  enterBackoff(): void {
    this.phase = 'backoff';
  }

  #startProbes(): void {
    const { startupProbe } = this.spec;
    if (!startupProbe) {
      this.#afterStartup();
      return;
    }
    const loop = new ProbeLoop(
      startupProbe,
      'unknown',
      () => this.#check(this.port!, startupProbe),
      (status) => {
        if (status === 'success') {
          loop.stop();
          this.#afterStartup();
        } else this.#hooks.probeFailed(this, 'startup', loop.state.consecutiveFailures);
      },
    );
    this.#probes.push(loop);
    loop.start(startupProbe.initialDelayMs);
  }

  #afterStartup(): void {
    if (this.phase === 'terminating' || this.#done) return;
    const elapsed = Date.now() - (this.startedAt ?? Date.now());
    const { livenessProbe, readinessProbe } = this.spec;
    if (livenessProbe) {
      const loop = new ProbeLoop(
        livenessProbe,
        'success',
        () => this.#check(this.port!, livenessProbe),
        (status) => {
          if (status === 'failure') this.#hooks.probeFailed(this, 'liveness', loop.state.consecutiveFailures);
        },
      );
      this.#probes.push(loop);
      loop.start(livenessProbe.initialDelayMs - elapsed);
    }
    if (readinessProbe) {
      const loop = new ProbeLoop(
        readinessProbe,
        'failure',
        () => this.#check(this.port!, readinessProbe),
        (status) => this.#setReady(status === 'success', true),
      );
      this.#probes.push(loop);
      loop.start(readinessProbe.initialDelayMs - elapsed);
    } else {
      this.#setReady(true, true);
    }
  }

  #setReady(ready: boolean, byProbe: boolean): void {
    if (this.ready === ready) return;
    if (ready && (this.phase === 'terminating' || this.#done)) return;
    this.ready = ready;
    if (ready) {
      this.readyAt = Date.now();
      if (this.phase === 'starting') this.phase = 'running';
    }
    this.#hooks.readyChanged(this, ready, byProbe);
  }

  #stopProbes(): void {
    for (const probe of this.#probes) probe.stop();
    this.#probes = [];
  }

  #finish(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.#done) return;
    this.#done = true;
    this.exitedAt = Date.now();
    this.#stopProbes();
    clearTimeout(this.#killTimer);
    clearTimeout(this.#preStopTimer);
    this.#setReady(false, false);
    // When a container's main process dies, the rest of its group dies too. A process that left the
    // group (a PostgreSQL backend, after setsid()) was killed with it when the runtime killed the replica
    // (signal); after a crash of the postmaster on its own, its backends see it gone and exit.
    if (this.pid !== null) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        // The group is empty already.
      }
    }
    this.pid = null;
    this.#hooks.exited(this, code, signal);
    this.#resolveExited();
  }
}
