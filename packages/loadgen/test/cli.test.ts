import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli.ts');

function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('loadgen CLI', () => {
  it('exits 2 with a message on bad arguments and non-local targets', async () => {
    const badRate = await run('--rate', 'lots');
    expect(badRate.code).toBe(2);
    expect(badRate.stderr).toContain('rate must be between 1 and');
    const remote = await run('--url', 'http://192.0.2.1:8080');
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain('refusing 192.0.2.1');
    const unknown = await run('--bogus');
    expect(unknown.code).toBe(2);
  });

  it('prints the report as JSON with --json', async () => {
    // A port the OS just handed out and that was closed again: every request is refused, the run still reports.
    const closed = await new Promise<number>((done) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => done(port));
      });
    });
    const result = await run(
      '--url',
      `http://127.0.0.1:${closed}`,
      '--rate',
      '20',
      '--duration',
      '200ms',
      '--json',
    );
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { sent: number; errorsByKind: Record<string, number> };
    expect(report.sent).toBe(4);
    expect(report.errorsByKind['ECONNREFUSED']).toBe(report.sent);
  });
});
