import type { BuildOptions } from 'esbuild';

/**
 * How a service is bundled, the same for the local runtime's replicas (bundles.ts) and for the KIND
 * images (k8s/docker/Dockerfile runs cli/bundle-service.ts): one ES module for Node 22 and later with every
 * dependency inside it, so it runs from a folder that holds nothing else.
 */
export function serviceBundleOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
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
    outfile,
    logLevel: 'silent',
  };
}
