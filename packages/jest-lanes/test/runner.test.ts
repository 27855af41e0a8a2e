// The lanes runner, run by a real Jest on fixture suites: two whole-platform suites and one other suite
// that can only pass while a platform suite runs (and the platform suites only while it does).
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');

async function runFixtures(maxWorkers: number, only?: string): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'jest-lanes-'));
  try {
    const log = path.join(dir, 'lanes.log');
    // A run of the platform suites alone: the line they wait for from the other lane is there already.
    writeFileSync(log, only ? 'start unit\n' : '');
    const config = {
      rootDir: path.join(here, 'fixtures'),
      testMatch: ['<rootDir>/*.test.mjs'],
      transform: {},
      runner: path.resolve(here, '../src/runner.js'),
      cacheDirectory: path.join(dir, 'cache'),
    };
    await run(
      process.execPath,
      [
        '--experimental-vm-modules',
        path.join(repoRoot, 'node_modules/jest/bin/jest.js'),
        '--config',
        JSON.stringify(config),
        `--maxWorkers=${maxWorkers}`,
        '--ci',
        ...(only ? [only] : []),
      ],
      { env: { ...process.env, LANES_LOG: log }, timeout: 60_000 },
    );
    return readFileSync(log, 'utf8').trim().split('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The platform suites' lines: each suite's start and end next to each other means one at a time. */
function platformLines(lines: string[]): string[] {
  return lines.filter((line) => !line.endsWith('unit'));
}

describe('the lanes runner', () => {
  it.each([1, 3])(
    'runs the other suites beside the platform suites, and those one at a time (maxWorkers %i)',
    async (maxWorkers) => {
      // Jest fails (and run rejects) unless the unit suite and a platform suite ran at the same time.
      const lines = await runFixtures(maxWorkers);
      expect(lines).toContain('start unit');
      expect([
        ['start first', 'end first', 'start second', 'end second'],
        ['start second', 'end second', 'start first', 'end first'],
      ]).toContainEqual(platformLines(lines));
    },
  );

  it('runs platform suites one at a time when they are all there is to run (maxWorkers 3)', async () => {
    const lines = await runFixtures(3, '\\.e2e\\.test\\.mjs$');
    expect([
      ['start unit', 'start first', 'end first', 'start second', 'end second'],
      ['start unit', 'start second', 'end second', 'start first', 'end first'],
    ]).toContainEqual(lines);
  });
});
