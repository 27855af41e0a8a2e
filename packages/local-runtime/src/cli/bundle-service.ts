#!/usr/bin/env node
// Bundles one service into one ES module, as the local runtime bundles its replicas:
//   node packages/local-runtime/src/cli/bundle-service.ts <entry.ts> <out.mjs>
// The KIND images run what it writes (k8s/docker/Dockerfile). Exit 1 when esbuild fails, 2 on bad usage.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { serviceBundleOptions } from '../start-up/bundle-options.ts';

const [entry, outfile, ...rest] = process.argv.slice(2);
if (!entry || !outfile || rest.length > 0) {
  console.error(
    'usage: bundle-service.ts <entry.ts> <out.mjs>   (e.g. services/order/src/main.ts order.mjs)',
  );
  process.exit(2);
}
const started = Date.now();
try {
  await stat(entry);
} catch {
  console.error(`bundle-service: no entry point at ${path.resolve(entry)}`);
  process.exit(2);
}
try {
  await build({
    ...serviceBundleOptions(path.resolve(entry), path.resolve(outfile)),
    // The comment before each module names its file from the package's folder (src/…, node_modules/…).
    absWorkingDir: path.dirname(path.dirname(path.resolve(entry))),
    logLevel: 'warning',
  });
} catch (error) {
  console.error(`bundle-service: cannot bundle ${entry}: ${(error as Error).message}`);
  process.exit(1);
}
const { size } = await stat(outfile);
console.log(
  `bundle-service: ${entry} → ${outfile} (${(size / 1e6).toFixed(1)} MB) in ${Date.now() - started} ms`,
);
