/**
 * TEST DOUBLE, storage half: objects with resourceVersions, a bounded event history, watchers.
 * Modelled on kube-apiserver's watch cache (staging/src/k8s.io/apiserver/pkg/storage/cacher):
 * - every write bumps one global resourceVersion (etcd's revision);
 * - only the last `historyLimit` events are kept; a watch from an older resourceVersion gets a 200
 *   whose one event is `ERROR` with a Status `410 Expired` ("too old resource version"), then ends;
 * - `compact()` drops the history, as etcd compaction does.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

export type Kind = 'pods' | 'deployments' | 'statefulsets' | 'replicasets';
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface Meta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  labels: Record<string, string>;
  creationTimestamp: string;
  generation?: number;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller: boolean;
  }>;
}

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  spec: Record<string, unknown>;
  status: Record<string, unknown>;
}

export interface Watcher {
  kind: Kind;
  selector: string | null;
  res: ServerResponse;
  bookmarks: boolean;
  timer?: NodeJS.Timeout;
}

interface HistoryEvent {
  rv: number;
  kind: Kind;
  type: EventType;
  object: Obj;
}

export function selectorMatches(labels: Record<string, string>, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return labels[key.trim()] === value?.trim();
  });
}

const copy = (o: Obj): Obj => JSON.parse(JSON.stringify(o)) as Obj;

export class Store {
  readonly objects: Record<Kind, Map<string, Obj>> = {
    pods: new Map(),
    deployments: new Map(),
    statefulsets: new Map(),
    replicasets: new Map(),
  };
  readonly watchers = new Set<Watcher>();
  readonly #history: HistoryEvent[] = [];
  readonly #historyLimit: number;
  #rv = 1000;
  /** Watches from a resourceVersion below this are answered 410. */
  #oldestRv = 1000;

  constructor(historyLimit: number) {
    this.#historyLimit = historyLimit;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  get oldestResourceVersion(): number {
    return this.#oldestRv;
  }

  newMeta(name: string, namespace: string, labels: Record<string, string>): Meta {
    return {
      name,
      namespace,
      uid: randomUUID(),
      resourceVersion: '',
      labels,
      creationTimestamp: new Date().toISOString(),
    };
  }

  find(kind: Kind, name: string): Obj | undefined {
    return this.objects[kind].get(name);
  }

  list(kind: Kind, selector: string | null): Obj[] {
    return [...this.objects[kind].values()]
      .filter((o) => selectorMatches(o.metadata.labels, selector))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map(copy);
  }

  /** Writes an object (create or update) and tells the watchers. */
  put(kind: Kind, object: Obj): void {
    const type: EventType = this.objects[kind].has(object.metadata.name) ? 'MODIFIED' : 'ADDED';
    this.objects[kind].set(object.metadata.name, object);
    this.#record(kind, type, object);
  }

  remove(kind: Kind, object: Obj): void {
    if (this.objects[kind].get(object.metadata.name) !== object) return;
    this.objects[kind].delete(object.metadata.name);
    this.#record(kind, 'DELETED', object);
  }

  /** etcd compaction: every resourceVersion seen so far becomes too old to watch from. */
  compact(): void {
    this.#history.length = 0;
    this.#oldestRv = this.#rv;
  }

  /** The events a watch from `from` must replay, or undefined when `from` is too old (410). */
  since(
    kind: Kind,
    from: number,
    selector: string | null,
  ): Array<{ type: EventType; object: Obj }> | undefined {
    if (from < this.#oldestRv) return undefined;
    return this.#history
      .filter((e) => e.kind === kind && e.rv > from && selectorMatches(e.object.metadata.labels, selector))
      .map((e) => ({ type: e.type, object: e.object }));
  }

  #record(kind: Kind, type: EventType, object: Obj): void {
    this.#rv += 1;
    object.metadata.resourceVersion = String(this.#rv);
    const snapshot = copy(object);
    this.#history.push({ rv: this.#rv, kind, type, object: snapshot });
    while (this.#history.length > this.#historyLimit) {
      const dropped = this.#history.shift();
      if (dropped) this.#oldestRv = dropped.rv;
    }
    for (const w of this.watchers) {
      if (w.kind === kind && selectorMatches(snapshot.metadata.labels, w.selector)) {
        w.res.write(`${JSON.stringify({ type, object: snapshot })}\n`);
      }
    }
  }
}
