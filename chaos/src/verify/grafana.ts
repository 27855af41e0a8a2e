/**
 * Grafana's search API (https://grafana.com/docs/grafana/latest/developers/http_api/folder_dashboard_search/):
 * `GET /api/search?query=<text>&type=dash-db` → `[{ uid, title, type: "dash-db", folderTitle, ... }]`, with
 * basic authentication (the chart's admin user).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fail, pass, type CheckOutcome } from './check.ts';
import { requestJson } from './http.ts';

/** The dashboards of the repository (monitoring/dashboards/*.json): what Grafana must show. */
export const DASHBOARDS_DIR = resolve(import.meta.dirname, '../../../monitoring/dashboards');

export interface Dashboard {
  uid: string;
  title: string;
}

export async function expectedDashboards(dir = DASHBOARDS_DIR): Promise<Dashboard[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const { uid, title } = JSON.parse(await readFile(join(dir, file), 'utf8')) as Partial<Dashboard>;
      if (!uid || !title) throw new Error(`${join(dir, file)} has no uid or title`);
      return { uid, title };
    }),
  );
}

export interface GrafanaAccess {
  url: string;
  user: string;
  password: string;
}

interface SearchHit {
  uid: string;
  title: string;
  type: string;
}

/** Searches each expected dashboard by title and matches it by uid. */
export async function judgeDashboards(
  grafana: GrafanaAccess,
  expected: readonly Dashboard[],
  next: string,
): Promise<CheckOutcome> {
  const base = grafana.url.replace(/\/+$/, '');
  const authorization = `Basic ${Buffer.from(`${grafana.user}:${grafana.password}`).toString('base64')}`;
  const missing: string[] = [];
  for (const dashboard of expected) {
    const url = `${base}/api/search?type=dash-db&query=${encodeURIComponent(dashboard.title)}`;
    const hits = await requestJson<SearchHit[]>(`Grafana ${base}/api/search`, url, {
      headers: { authorization },
    });
    if (!hits.some((h) => h.uid === dashboard.uid))
      missing.push(`"${dashboard.title}" (uid ${dashboard.uid})`);
  }
  const titles = expected.map((d) => `"${d.title}"`).join(', ');
  return missing.length === 0
    ? pass(`${expected.length}/${expected.length} dashboards found at ${base}: ${titles}`)
    : fail(
        `${expected.length - missing.length}/${expected.length} dashboards found at ${base}; missing: ${missing.join(', ')}`,
        next,
      );
}
