import { DEFAULT_ORDER_URL } from '@self-healing-shop/contracts';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Parses a target URL and refuses anything but this machine: a load generator must not hit others by mistake. */
export function localUrl(text: string, what = 'url'): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`${what} must be an http URL such as ${DEFAULT_ORDER_URL}, got ${text}`);
  }
  if (url.protocol !== 'http:') throw new TypeError(`${what} must use http:, got ${url.protocol}`);
  if (!LOCAL_HOSTS.has(url.hostname)) {
    throw new TypeError(
      `${what} must point at this machine (127.0.0.1 or localhost): refusing ${url.hostname}`,
    );
  }
  return url;
}
