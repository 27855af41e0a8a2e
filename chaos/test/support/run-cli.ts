import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { main } from '../../src/command.ts';
import type { StartLoad } from '../../src/load.ts';
import type { ChaosReport } from '../../src/report/report.ts';

export interface CliResult {
  code: number;
  out: string;
  err: string;
  dir: string;
  report: () => Promise<ChaosReport>;
  file: (name: string) => Promise<string>;
}

/** Runs the chaos CLI in-process with captured output and a fresh report folder. */
export async function runCli(
  args: string[],
  deps: {
    kubeConfig?: () => KubeConfig;
    startLoad?: StartLoad;
    env?: Record<string, string>;
    signal?: AbortSignal;
  },
): Promise<CliResult> {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-test-'));
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...args, '--report-dir', dir], {
    env: deps.env ?? {},
    print: (line) => out.push(line),
    printError: (line) => err.push(line),
    signal: deps.signal ?? new AbortController().signal,
    kubeConfig: deps.kubeConfig,
    startLoad: deps.startLoad,
  });
  return {
    code,
    out: out.join('\n'),
    err: err.join('\n'),
    dir,
    report: async () => JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as ChaosReport,
    file: (name) => readFile(join(dir, name), 'utf8'),
  };
}

export async function cleanup(result: CliResult | undefined): Promise<void> {
  if (result) await rm(result.dir, { recursive: true, force: true });
}
