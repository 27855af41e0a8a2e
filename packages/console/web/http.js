/* global fetch, URLSearchParams */
// fetch helpers: problem+json answers become errors carrying their detail (and install hint).
export class HttpProblem extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export async function getJson(url, init) {
  const res = await fetch(url, init);
  const type = res.headers.get('content-type') || '';
  const body = type.includes('json') ? await res.json() : { detail: await res.text() };
  if (!res.ok) throw new HttpProblem(res.status, body);
  return body;
}

/** A Prometheus API call through the console; returns `data` or throws with Prometheus's error. */
export async function prom(path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) qs.append(k, String(one));
  }
  const body = await getJson(`/api/prometheus/api/v1/${path}?${qs}`);
  if (body.status !== 'success') throw new Error(body.error || 'Prometheus query failed');
  return body.data;
}
