/**
 * A real Alertmanager for tests (Debian's /usr/bin/prometheus-alertmanager, or `alertmanager` on PATH),
 * on a port the kernel just handed out, without its gossip cluster. Tests play Prometheus by posting
 * alerts to `POST /api/v2/alerts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CANDIDATES = ['/usr/bin/prometheus-alertmanager', '/usr/local/bin/alertmanager'];

export const ALERTMANAGER_MISSING =
  'Alertmanager is not installed: `apt-get install -y --no-install-recommends prometheus-alertmanager`';

export async function findAlertmanagerBinary(): Promise<string> {
  for (const candidate of CANDIDATES) {
    const ok = await access(candidate, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (ok) return candidate;
  }
  throw new Error(ALERTMANAGER_MISSING);
}

/** A port the kernel picked and released (Alertmanager cannot listen on 0 and tell). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface TestAlertmanager {
  url: string;
  /** Posts alerts as Prometheus does (firing: no endsAt in the past). */
  post(alerts: Array<{ labels: Record<string, string> }>): Promise<void>;
  stop(): Promise<void>;
}

const CONFIG = `route:
  receiver: default
receivers:
  - name: default
`;

export async function startAlertmanager(): Promise<TestAlertmanager> {
  const binary = await findAlertmanagerBinary();
  const dir = await mkdtemp(path.join(tmpdir(), 'chaos-alertmanager-'));
  await writeFile(path.join(dir, 'alertmanager.yml'), CONFIG);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${dir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`alertmanager exited while starting: ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`alertmanager not ready within 20 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async post(alerts) {
      const response = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts.map((a) => ({ labels: a.labels, startsAt: new Date().toISOString() }))),
      });
      if (!response.ok)
        throw new Error(`POST /api/v2/alerts answered ${response.status}: ${await response.text()}`);
    },
    stop,
  };
}
