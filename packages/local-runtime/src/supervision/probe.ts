import http from 'node:http';
import type { ProbeSpec } from '../manifests/deployment-spec.ts';

export type ProbeStatus = 'unknown' | 'success' | 'failure';

/** Kubernetes' threshold logic: the status flips after successThreshold / failureThreshold results in a row. */
export class ProbeState {
  #status: ProbeStatus;
  #successes = 0;
  #failures = 0;
  readonly #spec: Pick<ProbeSpec, 'successThreshold' | 'failureThreshold'>;

  constructor(spec: Pick<ProbeSpec, 'successThreshold' | 'failureThreshold'>, initial: ProbeStatus) {
    this.#spec = spec;
    this.#status = initial;
  }

  get status(): ProbeStatus {
    return this.#status;
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** Records one probe result; true when the status changed. */
  record(ok: boolean): boolean {
    if (ok) {
      this.#failures = 0;
      this.#successes += 1;
      if (this.#status !== 'success' && this.#successes >= this.#spec.successThreshold) {
        this.#status = 'success';
        return true;
      }
    } else {
      this.#successes = 0;
      this.#failures += 1;
      if (this.#status !== 'failure' && this.#failures >= this.#spec.failureThreshold) {
        this.#status = 'failure';
        return true;
      }
    }
    return false;
  }
}

/** One HTTP GET like the kubelet's: 200-399 passes; an error or no answer within the timeout fails. */
export function httpProbe(
  port: number,
  spec: Pick<ProbeSpec, 'path' | 'headers' | 'timeoutMs'>,
): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(
      {
        host: '127.0.0.1',
        port,
        path: spec.path,
        headers: { 'user-agent': 'kube-probe/local-runtime', ...spec.headers },
        agent: false,
      },
      (response) => {
        response.resume();
        clearTimeout(timer);
        const status = response.statusCode ?? 0;
        resolve(status >= 200 && status < 400);
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      resolve(false);
    }, spec.timeoutMs);
    request.on('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

/** Runs a probe every periodMs (after initialDelayMs), feeding its results to a ProbeState. */
export class ProbeLoop {
  readonly state: ProbeState;
  readonly #spec: ProbeSpec;
  readonly #check: () => Promise<boolean>;
  readonly #onChange: (status: ProbeStatus) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    spec: ProbeSpec,
    initial: ProbeStatus,
    check: () => Promise<boolean>,
    onChange: (status: ProbeStatus) => void,
  ) {
    this.#spec = spec;
    this.state = new ProbeState(spec, initial);
    this.#check = check;
    this.#onChange = onChange;
  }

  start(delayMs: number): void {
    this.#schedule(Math.max(0, delayMs));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), Math.max(0, ms));
  }

  async #run(): Promise<void> {
    const started = performance.now();
    const ok = await this.#check();
    if (this.#stopped) return;
    if (this.state.record(ok)) this.#onChange(this.state.status);
    this.#schedule(this.#spec.periodMs - (performance.now() - started));
  }
}
