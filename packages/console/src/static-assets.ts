import express, { type Router } from 'express';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The page's HTML, CSS and browser modules (plain ES modules, no build step). */
export const WEB_DIR = join(here, '..', 'web');
/** The pure modules shared with the server and the tests, served to the browser with their types stripped. */
export const SHARED_DIR = join(here, 'shared');
/** uPlot's own dist files, from its npm package. */
export const UPLOT_DIST = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'));

const stripped = new Map<string, string>();

/** Node's own type stripper (the one that runs these sources): the browser gets the same code minus types. */
async function sharedModule(name: string): Promise<string> {
  const cached = stripped.get(name);
  if (cached !== undefined) return cached;
  const js = stripTypeScriptTypes(await readFile(join(SHARED_DIR, name), 'utf8'), { mode: 'strip' });
  stripped.set(name, js);
  return js;
}

export function staticAssets(): Router {
  const router = express.Router();
  router.get('/shared/:file', async (req, res, next) => {
    const file = req.params.file;
    if (!/^[a-z-]+\.ts$/.test(file)) return next();
    try {
      res.type('text/javascript').send(await sharedModule(file));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return next();
      throw error;
    }
  });
  // pnpm keeps packages under node_modules/.pnpm: a dot folder, which send() refuses unless allowed.
  const vendor = { dotfiles: 'allow' as const };
  router.get('/vendor/uPlot.esm.js', (_req, res) => res.sendFile(join(UPLOT_DIST, 'uPlot.esm.js'), vendor));
  router.get('/vendor/uPlot.min.css', (_req, res) => res.sendFile(join(UPLOT_DIST, 'uPlot.min.css'), vendor));
  router.use(express.static(WEB_DIR, { index: 'index.html' }));
  return router;
}
