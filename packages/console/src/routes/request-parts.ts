import type { Request } from 'express';

/** The `*path` wildcard of a route, as one string. */
export function splatPath(req: Request): string {
  const splat = (req.params as Record<string, string | string[]>).path;
  return Array.isArray(splat) ? splat.join('/') : (splat ?? '');
}

/** The raw query string (with its `?`), passed upstream unchanged. */
export function queryString(req: Request): string {
  const i = req.originalUrl.indexOf('?');
  return i === -1 ? '' : req.originalUrl.slice(i);
}
