import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';

/** The first executable on `pathVariable` named one of `names` (tried in that order), or undefined. */
export async function findExecutable(
  names: readonly string[],
  pathVariable = process.env['PATH'] ?? '',
): Promise<string | undefined> {
  const dirs = pathVariable.split(path.delimiter).filter(Boolean);
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      const ok = await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      );
      if (ok) return candidate;
    }
  }
  return undefined;
}
