import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import type { Logger } from 'pino';
import { serviceBundleOptions } from './bundle-options.ts';

/**
 * What a replica runs: its service's sources bundled into one ES module (esbuild), made again whenever
 * a file it was made from changed, so a replica runs the current sources, as `node main.ts` would.
 * Why: Node resolves, reads and compiles some 900 files to start a service from its sources; the bundle
 * is one file, and a replacement replica needs about a third of the CPU to start (issue 12: 550 ms
 * instead of 1,710 ms; local-runtime README, "What a replica runs"). A service that cannot be bundled
 * runs from its sources, with a warning that says why.
 *
 * Not for code that finds files next to its own module at run time (`__dirname`, `import.meta.url`):
 * pino's transports (worker threads) do; the services log through `pino.destination` and use none.
 */
export class ServiceBundles {
  readonly #rootDir: string;
  readonly #cacheDir: string;
  readonly #logger: Logger;
  /** One freshness check or build at a time per service: replicas starting together share it. */
  readonly #pending = new Map<string, Promise<string>>();
  /** The last build error said per service: a crash-looping replica retries the build at each start, warned once. */
  readonly #failures = new Map<string, string>();

  constructor(rootDir: string, logger: Logger, cacheDir = defaultCacheDir(rootDir)) {
    this.#rootDir = rootDir;
    this.#cacheDir = cacheDir;
    this.#logger = logger;
  }

  /** The sources a replica of `service` would run without a bundle. */
  source(service: string): string {
    return path.join(this.#rootDir, 'services', service, 'src', 'main.ts');
  }

  /** The file to run for a replica of `service`: its up-to-date bundle, else its sources. */
  entry(service: string): Promise<string> {
    let pending = this.#pending.get(service);
    if (!pending) {
      pending = this.#entry(service).finally(() => this.#pending.delete(service));
      this.#pending.set(service, pending);
    }
    return pending;
  }

  async #entry(service: string): Promise<string> {
    const manifestFile = path.join(this.#cacheDir, `${service}.json`);
    const current = await this.#upToDate(manifestFile);
    if (current) return current;
    const started = Date.now();
    try {
      const bundle = await this.#build(service, manifestFile, started);
      this.#failures.delete(service);
      this.#logger.info({ service, bundle, ms: Date.now() - started }, 'service bundled');
      return bundle;
    } catch (error) {
      const source = this.source(service);
      const said = error instanceof Error ? error.message : String(error);
      if (this.#failures.get(service) === said) return source;
      this.#failures.set(service, said);
      this.#logger.warn(
        { service, err: error },
        `cannot bundle ${service}: its replicas run ${path.relative(this.#rootDir, source)} (slower to start)`,
      );
      return source;
    }
  }

  /**
   * The bundle the manifest names, when every file it was made from (the workspace's modules, the
   * package.json and tsconfig.json files above them, the install's state) is as it was then, by
   * modification time and size: an edit, a file copied in with an older time, a new install. About a
   * hundred stat calls (~5 ms); the dependencies' own files are covered by the install's state.
   */
  async #upToDate(manifestFile: string): Promise<string | null> {
    try {
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Manifest;
      const bundle = path.join(this.#cacheDir, manifest.bundle);
      await stat(bundle);
      const now = await fingerprints(Object.keys(manifest.files));
      return Object.entries(manifest.files).every(([file, was]) => same(was, now[file])) ? bundle : null;
    } catch {
      return null; // no bundle yet, or its manifest or bundle is gone
    }
  }

  async #build(service: string, manifestFile: string, started: number): Promise<string> {
    const result = await build({
      ...serviceBundleOptions(this.source(service), path.join(this.#cacheDir, `${service}.mjs`)),
      absWorkingDir: this.#rootDir,
      metafile: true,
      write: false,
    });
    const contents = result.outputFiles[0]!.contents;
    // Named by its content: the manifest, one file renamed into place, always names a whole bundle
    // (two runtimes of the checkout building at once included).
    const name = `${service}.${createHash('sha256').update(contents).digest('hex').slice(0, 12)}.mjs`;
    await mkdir(this.#cacheDir, { recursive: true });
    await writeAtomically(path.join(this.#cacheDir, name), contents);
    const files = await fingerprints(this.#sources(Object.keys(result.metafile.inputs)));
    // A file changed while esbuild read it may be in the bundle as it was: the next check rebuilds.
    for (const [file, print] of Object.entries(files))
      if (print && print[0] >= started) files[file] = [-1, -1];
    const manifest: Manifest = { bundle: name, files };
    await writeAtomically(manifestFile, JSON.stringify(manifest));
    await this.#removeOld(service, name);
    return path.join(this.#cacheDir, name);
  }

  /**
   * The files whose change makes a bundle stale: the workspace's own modules (esbuild's inputs outside
   * node_modules), each package.json and tsconfig.json from their folders up to the repository, and
   * the install's state (pnpm rewrites node_modules/.modules.yaml on every install).
   */
  #sources(inputs: readonly string[]): string[] {
    const files = new Set<string>([
      path.join(this.#rootDir, 'pnpm-lock.yaml'),
      path.join(this.#rootDir, 'node_modules', '.modules.yaml'),
    ]);
    for (const input of inputs) {
      if (input.split('/').includes('node_modules')) continue;
      const file = path.resolve(this.#rootDir, input);
      files.add(file);
      for (let dir = path.dirname(file); dir.startsWith(this.#rootDir); dir = path.dirname(dir)) {
        files.add(path.join(dir, 'package.json'));
        files.add(path.join(dir, 'tsconfig.json'));
        if (dir === this.#rootDir) break;
      }
    }
    return [...files];
  }

  /** Bundles of the service older than ten minutes, other than the current one (a replica may be starting one). */
  async #removeOld(service: string, current: string): Promise<void> {
    const before = Date.now() - 10 * 60_000;
    for (const name of await readdir(this.#cacheDir)) {
      if (name === current || !name.startsWith(`${service}.`) || !name.endsWith('.mjs')) continue;
      const file = path.join(this.#cacheDir, name);
      const info = await stat(file).catch(() => null);
      if (info && info.mtimeMs < before) await rm(file, { force: true });
    }
  }
}

/** A file's modification time and size; null when it does not exist (a missing tsconfig.json). */
type Fingerprint = readonly [mtimeMs: number, size: number] | null;

interface Manifest {
  /** The bundle's file name in the cache folder. */
  readonly bundle: string;
  readonly files: Record<string, Fingerprint>;
}

async function fingerprints(files: readonly string[]): Promise<Record<string, Fingerprint>> {
  const prints = await Promise.all(
    files.map(async (file) => {
      const info = await stat(file).catch(() => null);
      return [file, info ? ([info.mtimeMs, info.size] as const) : null] as const;
    }),
  );
  return Object.fromEntries(prints);
}

function same(a: Fingerprint | undefined, b: Fingerprint | undefined): boolean {
  return a === null || b === null || a === undefined || b === undefined
    ? a === b
    : a[0] === b[0] && a[1] === b[1];
}

/** Written aside and renamed: a replica (or another runtime) never reads half a file. */
async function writeAtomically(file: string, contents: string | Uint8Array): Promise<void> {
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    await writeFile(temporary, contents);
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
}

/** Beside the dependencies, where build tools keep their caches: shared by every runtime of the checkout. */
export function defaultCacheDir(rootDir: string): string {
  return path.join(rootDir, 'node_modules', '.cache', 'local-runtime', 'bundles');
}
