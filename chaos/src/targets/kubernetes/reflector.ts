/**
 * A list-then-watch loop that survives what a real API server does to long-lived watches, in the
 * manner of client-go's Reflector (k8s.io/client-go/tools/cache/reflector.go):
 *
 * - kube-apiserver ends every watch after its timeout (a random time between --min-request-timeout
 *   and twice that, 30–60 min by default), and @kubernetes/client-node 2.0.1's `Watch` aborts one
 *   that sent nothing for 30 s (`requestTimeoutMs`, a `TimeoutError`). Both are normal: re-watch at
 *   once from the last resourceVersion seen, nothing is lost.
 * - A resourceVersion older than the server keeps (watch cache window, etcd compaction) answers
 *   `410 Gone` — an ERROR event carrying a Status with code 410 on a 200 response, or a plain 410.
 *   Then list again and diff the new list against what was known (`replace`), so changes made while
 *   no watch ran are still reported, and watch from the list's resourceVersion.
 * - Anything else (connection refused, 5xx, 429 from API Priority and Fairness, a watch closed at once
 *   without an event — client-go's "very short watch") is a failure: retry after a capped
 *   exponential delay with jitter (cockatiel's decorrelated jitter), honouring a list's Retry-After.
 *   After `maxConsecutiveFailures` in a row the loop stops and says so through `onFailure` instead of
 *   ending silently.
 *
 * client-node 2.0.1 calls the watch's `done` synchronously, before `watch()` returns its
 * AbortController, when the request fails; so nothing here reads the controller inside `done`.
 * Its own `ListWatch` is not used: it keys objects by name (a StatefulSet's `postgres-0` comes back
 * under the same name with a new UID) and stops for good on the first error that is not a 410.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { KubernetesObject, V1Status, Watch } from '@kubernetes/client-node';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { TargetError } from '../../target.ts';
import { describeApiError, retryAfterMs, statusOf } from './api-errors.ts';
import type { Listed } from './pager.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ReflectorSource<T> {
  /** The collection's path, e.g. `/api/v1/namespaces/shop/pods`. */
  readonly path: string;
  readonly labelSelector: string;
  /** A full (paginated) list: items and the snapshot's resourceVersion. */
  list(): Promise<Listed<T>>;
}

export interface ReflectorHandlers<T> {
  /** The whole collection after a re-list (410): diff it against what was known. */
  replace(items: readonly T[]): void;
  apply(type: WatchEventType, object: T): void;
}

export interface ReconnectPolicy {
  /** Scale of the first retry delay; default 250 ms. */
  readonly initialDelayMs: number;
  /** Cap of one retry delay; default 10 s. */
  readonly maxDelayMs: number;
  /** Failed attempts in a row (watch or list) after which the stream gives up; default 10. */
  readonly maxConsecutiveFailures: number;
  /** A watch closed by the server sooner than this without any event counts as a failure; default 1 s. */
  readonly shortWatchMs: number;
}

export const DEFAULT_RECONNECT: ReconnectPolicy = {
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  maxConsecutiveFailures: 10,
  shortWatchMs: 1000,
};

export interface ReflectorStats {
  /** Lists made after the initial one (each after a 410). */
  relists: number;
  /** Watch requests sent. */
  watches: number;
  /** 410 Gone answers seen. */
  expired: number;
  /** Failed attempts (each followed by a backoff delay, or by giving up). */
  failures: number;
}

type Outcome = { kind: 'ended' } | { kind: 'expired' } | { kind: 'failed'; error: unknown };

function isTimeout(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'TimeoutError';
}

export class Reflector<T extends KubernetesObject> {
  readonly stats: ReflectorStats = { relists: 0, watches: 0, expired: 0, failures: 0 };
  readonly #watch: Watch;
  readonly #source: ReflectorSource<T>;
  readonly #handlers: ReflectorHandlers<T>;
  readonly #policy: ReconnectPolicy;
  readonly #onFailure: (error: TargetError) => void;
  readonly #backoffs: ExponentialBackoff<unknown>;
  readonly #stopSignal = new AbortController();
  #resourceVersion = '';
  #controller: AbortController | undefined;
  #backoff: IBackoff<unknown> | undefined;
  #consecutiveFailures = 0;
  #expiredInARow = 0;
  #connected = false;
  #started: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(options: {
    watch: Watch;
    source: ReflectorSource<T>;
    handlers: ReflectorHandlers<T>;
    policy?: Partial<ReconnectPolicy>;
    /** Called once when the stream gives up after it had been established. */
    onFailure: (error: TargetError) => void;
  }) {
    this.#watch = options.watch;
    this.#source = options.source;
    this.#handlers = options.handlers;
    this.#policy = { ...DEFAULT_RECONNECT, ...options.policy };
    this.#onFailure = options.onFailure;
    this.#backoffs = new ExponentialBackoff({
      initialDelay: this.#policy.initialDelayMs,
      maxDelay: this.#policy.maxDelayMs,
    });
  }

  get stopped(): boolean {
    return this.#stopSignal.signal.aborted;
  }

  /**
   * Watches from `resourceVersion` (the caller's initial list, already applied). Resolves once the
   * first watch is established; rejects if the loop gives up before that.
   */
  start(resourceVersion: string): Promise<void> {
    this.#resourceVersion = resourceVersion;
    return new Promise((resolve, reject) => {
      this.#started = { resolve, reject };
      void this.#loop();
    });
  }

  /** Ends the loop; a `start()` still waiting for its first watch rejects with `reason`. */
  stop(reason?: TargetError): void {
    this.#stopSignal.abort();
    this.#controller?.abort();
    this.#controller = undefined;
    if (!this.#connected) {
      this.#started?.reject(
        reason ?? new TargetError(`the watch of ${this.#source.path} was stopped before it started`),
      );
    }
  }

  async #loop(): Promise<void> {
    while (!this.stopped) {
      // No resourceVersion (after a 410): list first. A failed list waited its backoff: try again.
      if (this.#resourceVersion === '' && !(await this.#relist())) continue;
      if (this.stopped) return;
      const outcome = await this.#watchOnce();
      if (this.stopped) return;
      if (outcome.kind === 'ended') {
        this.#healthy();
      } else if (outcome.kind === 'expired') {
        this.stats.expired += 1;
        this.#resourceVersion = '';
        // A 410 right after a re-list means the server is not keeping up: back off like a failure.
        this.#expiredInARow += 1;
        if (this.#expiredInARow > 1 && !(await this.#failed(new Error('410 Gone again right after a list'))))
          return;
      } else if (!(await this.#failed(outcome.error))) {
        return;
      }
    }
  }

  /** True once listed; false after a failure (its backoff waited, or the loop gave up). */
  async #relist(): Promise<boolean> {
    try {
      const listed = await this.#source.list();
      if (this.stopped) return false;
      this.stats.relists += 1;
      this.#handlers.replace(listed.items);
      this.#resourceVersion = listed.resourceVersion;
      return true;
    } catch (error) {
      await this.#failed(error, retryAfterMs(error));
      return false;
    }
  }

  #healthy(): void {
    this.#consecutiveFailures = 0;
    this.#expiredInARow = 0;
    this.#backoff = undefined;
  }

  /** Counts a failure; waits the backoff delay and returns true, or gives up and returns false. */
  async #failed(error: unknown, minDelayMs = 0): Promise<boolean> {
    this.stats.failures += 1;
    this.#consecutiveFailures += 1;
    if (this.#consecutiveFailures >= this.#policy.maxConsecutiveFailures) {
      this.#giveUp(error);
      return false;
    }
    this.#backoff = this.#backoff ? this.#backoff.next(undefined) : this.#backoffs.next();
    try {
      await delay(Math.max(this.#backoff.duration, minDelayMs), undefined, {
        signal: this.#stopSignal.signal,
      });
    } catch {
      return false; // stopped while waiting
    }
    return !this.stopped;
  }

  #giveUp(lastError: unknown): void {
    const error = new TargetError(
      `the watch of ${this.#source.path} failed ${this.#consecutiveFailures} times in a row and was ` +
        `given up (last error: ${describeApiError(lastError)})`,
    );
    const connected = this.#connected;
    this.stop(error);
    if (connected) this.#onFailure(error);
  }

  #markConnected(): void {
    if (this.#connected) return;
    this.#connected = true;
    this.#started?.resolve();
  }

  #watchOnce(): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const startedAt = Date.now();
      let delivered = 0;
      let expired = false;
      let errorEvent: Error | undefined;
      let settled = false;
      const finish = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        this.#controller = undefined;
        resolve(outcome);
      };
      const onEvent = (phase: string, object: unknown): void => {
        if (phase === 'ERROR') {
          const status = object as V1Status;
          if (status.code === 410) expired = true;
          else
            errorEvent = Object.assign(
              new Error(
                `watch ERROR event ${status.code ?? ''} ${status.reason ?? ''}: ${status.message ?? ''}`,
              ),
              { statusCode: status.code },
            );
          return;
        }
        delivered += 1;
        const version = (object as T).metadata?.resourceVersion;
        if (version) this.#resourceVersion = version;
        if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
          this.#handlers.apply(phase, object as T);
        }
      };
      const onDone = (error: unknown): void => {
        if (expired || statusOf(error) === 410) return finish({ kind: 'expired' });
        if (errorEvent) return finish({ kind: 'failed', error: errorEvent });
        if (isTimeout(error)) return finish({ kind: 'ended' });
        if (error) return finish({ kind: 'failed', error });
        if (delivered === 0 && Date.now() - startedAt < this.#policy.shortWatchMs) {
          return finish({
            kind: 'failed',
            error: new Error('very short watch: the server closed it at once without an event'),
          });
        }
        finish({ kind: 'ended' });
      };
      this.stats.watches += 1;
      this.#watch
        .watch(
          this.#source.path,
          {
            resourceVersion: this.#resourceVersion,
            labelSelector: this.#source.labelSelector,
            allowWatchBookmarks: true,
          },
          onEvent,
          onDone,
        )
        .then(
          (controller) => {
            if (settled) return; // `done` already ran: the request failed
            this.#controller = controller;
            if (this.stopped) controller.abort();
            else this.#markConnected();
          },
          (error: unknown) => finish({ kind: 'failed', error }),
        );
    });
  }
}
