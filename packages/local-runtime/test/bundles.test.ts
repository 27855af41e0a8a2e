// What a replica runs: its service bundled into one file, rebuilt when a source changes, its sources
// when it cannot be bundled. A throwaway repository with one service and one CommonJS dependency.
import { afterAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import {
  mkdtempSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pino from 'pino';
import { ServiceBundles } from '../src/start-up/bundles.ts';

const run = promisify(execFile);
const roots: string[] = [];
afterAll(() => roots.forEach((root) => rmSync(root, { recursive: true, force: true })));

/** A repository: services/shop/src/main.ts imports a sibling and a CommonJS package that requires `node:os`. */
function repository(parent = tmpdir()): string {
  const root = mkdtempSync(path.join(parent, 'bundles-'));
  roots.push(root);
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'shop-root', type: 'module' }));
  mkdirSync(path.join(root, 'services/shop/src'), { recursive: true });
  mkdirSync(path.join(root, 'node_modules/platform-name'), { recursive: true });
  writeFileSync(path.join(root, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n");
  writeFileSync(path.join(root, 'node_modules/.modules.yaml'), 'layoutVersion: 5\n');
  writeFileSync(
    path.join(root, 'node_modules/platform-name/package.json'),
    JSON.stringify({ name: 'platform-name', main: 'index.js' }),
  );
  writeFileSync(
    path.join(root, 'node_modules/platform-name/index.js'),
    "const os = require('node:os');\nmodule.exports = () => typeof os.platform();\n",
  );
  writeFileSync(
    path.join(root, 'services/shop/src/greeting.ts'),
    "export const greeting: string = 'hello';\n",
  );
  writeFileSync(
    path.join(root, 'services/shop/src/main.ts'),
    "import platformName from 'platform-name';\nimport { greeting } from './greeting.ts';\nconsole.log(`${greeting} ${platformName()}`);\n",
  );
  return root;
}

/** A logger whose lines the test reads. */
function recorder(): { logger: pino.Logger; messages: () => string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return {
    logger: pino({ level: 'info' }, stream),
    messages: () => lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
  };
}

async function output(file: string): Promise<string> {
  return (await run(process.execPath, [file])).stdout.trim();
}

/** Marks a file as changed a second after now (file systems with coarse timestamps included). */
function touch(file: string, content: string): void {
  writeFileSync(file, content);
  const later = new Date(Date.now() + 1_000);
  utimesSync(file, later, later);
}

describe('ServiceBundles', () => {
  it('runs a bundle of the sources, a CommonJS dependency included, outside the repository', async () => {
    const root = repository();
    const { logger } = recorder();
    const bundles = new ServiceBundles(root, logger, path.join(root, 'cache'));
    const entry = await bundles.entry('shop');
    expect(path.relative(root, entry)).toMatch(/^cache\/shop\.[0-9a-f]{12}\.mjs$/);
    expect(readFileSync(entry, 'utf8')).toContain('services/shop/src/greeting.ts');
    expect(await output(entry)).toBe('hello string');
  });

  it('builds once for replicas starting together and reuses the bundle while nothing changed', async () => {
    const root = repository();
    const { logger, messages } = recorder();
    const bundles = new ServiceBundles(root, logger, path.join(root, 'cache'));
    await Promise.all([bundles.entry('shop'), bundles.entry('shop'), bundles.entry('shop')]);
    await bundles.entry('shop');
    // Another runtime of the same checkout finds it too.
    await new ServiceBundles(root, logger, path.join(root, 'cache')).entry('shop');
    expect(messages().filter((m) => m === 'service bundled')).toHaveLength(1);
  });

  it('rebuilds when a source file changes, so a new replica runs the current sources', async () => {
    const root = repository();
    const { logger, messages } = recorder();
    const bundles = new ServiceBundles(root, logger, path.join(root, 'cache'));
    expect(await output(await bundles.entry('shop'))).toBe('hello string');
    touch(path.join(root, 'services/shop/src/greeting.ts'), "export const greeting: string = 'hi';\n");
    expect(await output(await bundles.entry('shop'))).toBe('hi string');
    expect(messages().filter((m) => m === 'service bundled')).toHaveLength(2);
  });

  it('rebuilds after an install, which may have changed a dependency', async () => {
    const root = repository();
    const { logger, messages } = recorder();
    const bundles = new ServiceBundles(root, logger, path.join(root, 'cache'));
    await bundles.entry('shop');
    writeFileSync(
      path.join(root, 'node_modules/platform-name/index.js'),
      'module.exports = () => "changed";\n',
    );
    touch(path.join(root, 'node_modules/.modules.yaml'), 'layoutVersion: 5\n');
    expect(await output(await bundles.entry('shop'))).toBe('hello changed');
    expect(messages().filter((m) => m === 'service bundled')).toHaveLength(2);
  });

  it('rebuilds after an edit that carries an older modification time (cp -p, rsync -a, tar x)', async () => {
    const root = repository();
    const { logger } = recorder();
    const bundles = new ServiceBundles(root, logger, path.join(root, 'cache'));
    await bundles.entry('shop');
    const greeting = path.join(root, 'services/shop/src/greeting.ts');
    writeFileSync(greeting, "export const greeting: string = 'good day';\n");
    const earlier = new Date(Date.now() - 60_000);
    utimesSync(greeting, earlier, earlier);
    expect(await output(await bundles.entry('shop'))).toBe('good day string');
  });

  it('rebuilds when a package.json above the sources changes (exports, type, imports)', async () => {
    const root = repository();
    const { logger, messages } = recorder();
    const bundles = new ServiceBundles(root, logger, path.join(root, 'cache'));
    await bundles.entry('shop');
    touch(
      path.join(root, 'package.json'),
      JSON.stringify({ name: 'shop-root', type: 'module', version: '2.0.0' }),
    );
    await bundles.entry('shop');
    expect(messages().filter((m) => m === 'service bundled')).toHaveLength(2);
  });

  it('tracks the sources of a checkout that itself sits under a node_modules folder', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'bundles-parent-'));
    roots.push(parent);
    mkdirSync(path.join(parent, 'node_modules'));
    const root = repository(path.join(parent, 'node_modules'));
    const { logger } = recorder();
    const bundles = new ServiceBundles(root, logger, path.join(root, 'cache'));
    await bundles.entry('shop');
    touch(path.join(root, 'services/shop/src/greeting.ts'), "export const greeting: string = 'hey';\n");
    expect(await output(await bundles.entry('shop'))).toBe('hey string');
  });

  it('gives two runtimes of one checkout building at once a whole bundle each', async () => {
    const root = repository();
    const { logger, messages } = recorder();
    const cache = path.join(root, 'cache');
    const entries = await Promise.all(
      [1, 2, 3].map(() => new ServiceBundles(root, logger, cache).entry('shop')),
    );
    for (const entry of entries) expect(await output(entry)).toBe('hello string');
    expect(messages().filter((m) => m.startsWith('cannot bundle'))).toEqual([]);
    expect(readdirSync(cache).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('reuses the bundle in a checkout installed without pnpm (no .modules.yaml)', async () => {
    const root = repository();
    rmSync(path.join(root, 'node_modules/.modules.yaml'));
    const { logger, messages } = recorder();
    const bundles = new ServiceBundles(root, logger, path.join(root, 'cache'));
    await bundles.entry('shop');
    expect(await output(await bundles.entry('shop'))).toBe('hello string');
    expect(messages().filter((m) => m === 'service bundled')).toHaveLength(1);
  });

  it('runs the sources, saying why, when they cannot be bundled', async () => {
    const root = repository();
    const { logger, messages } = recorder();
    touch(path.join(root, 'services/shop/src/main.ts'), "import { missing } from './gone.ts';\nmissing();\n");
    const bundles = new ServiceBundles(root, logger, path.join(root, 'cache'));
    expect(await bundles.entry('shop')).toBe(path.join(root, 'services/shop/src/main.ts'));
    expect(messages()).toContain(
      'cannot bundle shop: its replicas run services/shop/src/main.ts (slower to start)',
    );
  });

  it('says why once per error while a crash-looping replica asks again and again', async () => {
    const root = repository();
    const { logger, messages } = recorder();
    const main = path.join(root, 'services/shop/src/main.ts');
    touch(main, "import { missing } from './gone.ts';\nmissing();\n");
    const bundles = new ServiceBundles(root, logger, path.join(root, 'cache'));
    for (let start = 0; start < 3; start++) expect(await bundles.entry('shop')).toBe(main);
    const cannot = () => messages().filter((m) => m.startsWith('cannot bundle'));
    expect(cannot()).toHaveLength(1);
    // Another error is said again.
    touch(main, "import { missing } from './also-gone.ts';\nmissing();\n");
    await bundles.entry('shop');
    expect(cannot()).toHaveLength(2);
  });
});
