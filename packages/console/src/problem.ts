import type { Response } from 'express';

/** Sends an RFC 9457 problem+json answer. */
export function sendProblem(
  res: Response,
  status: number,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): void {
  res
    .status(status)
    .type('application/problem+json')
    .json({ type: 'about:blank', title, status, detail, ...extra });
}

/** How to get a Prometheus binary, for the 503s and the pages that need one. */
export const PROMETHEUS_INSTALL_HINT =
  'Install Prometheus and restart the runtime: `sudo apt-get install -y prometheus` (Debian/Ubuntu; ' +
  'on a systemd host also `sudo systemctl disable --now prometheus` so the package daemon leaves :9090 free) ' +
  'or `brew install prometheus` (macOS).';

/** How to get Alertmanager, for the 503s and the live view's Alerts panel. */
export const ALERTMANAGER_INSTALL_HINT =
  'Install Alertmanager and restart the runtime: `sudo apt-get install -y --no-install-recommends prometheus-alertmanager` ' +
  '(Debian/Ubuntu) or `brew install alertmanager` (macOS).';
