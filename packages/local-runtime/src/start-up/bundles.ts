import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import type { Logger } from 'pino';

/**
 * What a replica runs: its service's sources bundled into one ES module (esbuild), rebuilt whenever a
 * file it was made from changed, so a replica always runs the current sources, as `node main.ts` would.
 * Why: Node resolves, reads and compiles some 900 files to start a service from its sources; the bundle
 * is one file, and a replacement replica is ready sooner (issue 12: about 0.4 s of CPU less per start,
 * services/order/README.md "Where the time goes"). A service that cannot be bundled runs from its
 * sources, with a warning that says why.
 */
export class ServiceBundles {
  readonly #rootDir: string;
  readonly #cacheDir: string;
  readonly #logger: Logger;
  /** One freshness check or build at a time per service: replicas starting together share it. */
  readonly #pending = new Map<string, Promise<string>>();

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
    const bundle = path.join(this.#cacheDir, `${service}.mjs`);
    const manifest = path.join(this.#cacheDir, `${service}.inputs.json`);
    if (await this.#upToDate(bundle, manifest)) return bundle;
    const started = Date.now();
    try {
      await this.#build(service, bundle, manifest, started);
      this.#logger.info({ service, bundle, ms: Date.now() - started }, 'service bundled');
      return bundle;
    } catch (error) {
      const source = this.source(service);
      this.#logger.warn(
        { service, err: error },
        `cannot bundle ${service}: its replicas run ${path.relative(this.#rootDir, source)} (slower to start)`,
      );
      return source;
    }
  }

  /**
   * Every source file the bundle was made from is older than the build, and so is the last install
   * (pnpm rewrites its state file on each): about a hundred stat calls, not the 900 files of the bundle.
   */
  async #upToDate(bundle: string, manifest: string): Promise<boolean> {
    try {
      const { builtAt, inputs } = JSON.parse(await readFile(manifest, 'utf8')) as Manifest;
      await stat(bundle);
      const sources = inputs.map(async (file) => (await stat(file)).mtimeMs);
      // An install without pnpm has no .modules.yaml: only the lockfile then says what changed.
      const installs = this.#installFiles().map(
        async (file) => (await stat(file).catch(() => null))?.mtimeMs ?? 0,
      );
      const times = await Promise.all([...sources, ...installs]);
      return times.every((mtime) => mtime < builtAt);
    } catch {
      return false; // no bundle yet, or a file it was made from is gone
    }
  }

  /** A changed dependency tree (an install, a new lockfile) rebuilds the bundles. */
  #installFiles(): string[] {
    return [
      path.join(this.#rootDir, 'pnpm-lock.yaml'),
      path.join(this.#rootDir, 'node_modules', '.modules.yaml'),
    ];
  }

  async #build(service: string, bundle: string, manifest: string, builtAt: number): Promise<void> {
    const result = await build({
      entryPoints: [this.source(service)],
      absWorkingDir: this.#rootDir,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      // pg loads its optional native binding only when asked to; the services never ask.
      external: ['pg-native'],
      // The CommonJS dependencies (express, pg, pino...) call require() for Node's built-in modules.
      banner: {
        js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
      },
      // Not minified: stack traces in a replica's log name the functions, and each module in the file
      // starts with a comment naming its source file.
      keepNames: true,
      metafile: true,
      write: false,
      outfile: bundle,
      logLevel: 'silent',
    });
    await mkdir(this.#cacheDir, { recursive: true });
    // Written aside and renamed: a replica (or another runtime) never reads half a file.
    const temporary = `${bundle}.${process.pid}.tmp`;
    await writeFile(temporary, result.outputFiles[0]!.contents);
    await rename(temporary, bundle);
    const inputs = Object.keys(result.metafile.inputs)
      .map((file) => path.resolve(this.#rootDir, file))
      .filter((file) => !file.split(path.sep).includes('node_modules'));
    const entry: Manifest = { builtAt, inputs };
    await writeFile(`${manifest}.${process.pid}.tmp`, JSON.stringify(entry));
    await rename(`${manifest}.${process.pid}.tmp`, manifest);
  }
}

interface Manifest {
  /** When the build started: a file changed after that makes the bundle stale. */
  readonly builtAt: number;
  /** The workspace's own files in the bundle (the dependencies are covered by the install files). */
  readonly inputs: readonly string[];
}

/** Beside the dependencies, where build tools keep their caches: shared by every runtime of the checkout. */
export function defaultCacheDir(rootDir: string): string {
  return path.join(rootDir, 'node_modules', '.cache', 'local-runtime', 'bundles');
}
