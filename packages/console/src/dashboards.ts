import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Dashboard } from './shared/dashboard-model.ts';

export interface DashboardSummary {
  readonly uid: string;
  readonly title: string;
  readonly description?: string;
  readonly file: string;
}

/**
 * The Grafana dashboard files (`monitoring/dashboards/*.json`), read on every request so an edit
 * shows on reload. A file that is not a dashboard (no uid, title, panels) is an error naming it.
 */
export class DashboardFiles {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async list(): Promise<DashboardSummary[]> {
    const files = (await readdir(this.#dir)).filter((f) => f.endsWith('.json')).sort();
    const out: DashboardSummary[] = [];
    for (const file of files) {
      const d = await this.#read(file);
      out.push({ uid: d.uid, title: d.title, description: d.description, file });
    }
    return out;
  }

  async get(uid: string): Promise<Dashboard | undefined> {
    for (const file of (await readdir(this.#dir)).filter((f) => f.endsWith('.json'))) {
      const d = await this.#read(file);
      if (d.uid === uid) return d;
    }
    return undefined;
  }

  async #read(file: string): Promise<Dashboard> {
    const path = join(this.#dir, file);
    let data: unknown;
    try {
      data = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new Error(`${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    const d = data as Partial<Dashboard>;
    if (typeof d.uid !== 'string' || typeof d.title !== 'string' || !Array.isArray(d.panels)) {
      throw new Error(`${path} is not a Grafana dashboard: it needs "uid", "title" and "panels"`);
    }
    return d as Dashboard;
  }
}
