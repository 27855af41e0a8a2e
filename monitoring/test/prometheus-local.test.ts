// monitoring/prometheus-local.yml run by the real Prometheus: it loads the shared rules, discovers a
// replica from .data/prometheus/targets/*.json with the runtime's labels, and scrapes it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './promql.ts';

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 25_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('the local Prometheus config, run by prometheus', () => {
  let dir: string;
  let target: Server;
  let prometheus: ChildProcess | undefined;
  let base: string;
  let log = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prometheus-local-'));
    // Same layout as the repository: <root>/monitoring/... and <root>/.data/prometheus/targets.
    cpSync(join(repoRoot, 'monitoring/prometheus-local.yml'), join(dir, 'monitoring/prometheus-local.yml'));
    cpSync(join(repoRoot, 'monitoring/rules'), join(dir, 'monitoring/rules'), { recursive: true });
    target = createServer((req, res) => {
      res.setHeader('content-type', 'text/plain; version=0.0.4');
      res.end('# TYPE orders_total counter\norders_total{outcome="confirmed"} 5\n');
    });
    const targetPort = await listen(target);
    mkdirSync(join(dir, '.data/prometheus/targets'), { recursive: true });
    writeFileSync(
      join(dir, '.data/prometheus/targets/replicas.json'),
      JSON.stringify([
        {
          targets: [`127.0.0.1:${targetPort}`],
          labels: { service: 'order', pod: 'order-abc12-x', namespace: 'shop' },
        },
      ]),
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'monitoring/prometheus-local.yml')}`,
        `--storage.tsdb.path=${join(dir, '.data/prometheus/tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    prometheus.on('error', (error: NodeJS.ErrnoException) => {
      log +=
        error.code === 'ENOENT'
          ? 'prometheus is not on PATH: install the Debian package prometheus'
          : String(error);
    });
  });

  afterAll(async () => {
    if (prometheus?.pid && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await new Promise((resolve) => target.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const response = await fetch(base + path);
    return (await response.json()) as {
      data: Record<string, unknown> & {
        result?: { metric: Record<string, string>; value: [number, string] }[];
      };
    };
  };

  it('loads the rule groups of monitoring/rules', async () => {
    const groups = await until(`prometheus rules API (log: ${log})`, async () => {
      const body = await get('/api/v1/rules');
      const names = (body.data.groups as { name: string }[]).map((g) => g.name).sort();
      return names.length > 0 ? names : undefined;
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${log}`);
    });
    expect(groups).toEqual([
      'self-healing-shop.alerts',
      'self-healing-shop.http.recording',
      'self-healing-shop.slo.recording',
    ]);
  }, 30_000);

  it('scrapes the replica of the target file with its service, pod and namespace labels', async () => {
    const series = await until('a scrape of the file_sd target', async () => {
      const body = await get('/api/v1/query?query=orders_total');
      return body.data.result?.[0];
    });
    expect(series.metric).toMatchObject({
      job: 'shop',
      service: 'order',
      pod: 'order-abc12-x',
      namespace: 'shop',
      outcome: 'confirmed',
    });
    expect(series.value[1]).toBe('5');
  }, 30_000);
});
