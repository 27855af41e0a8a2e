import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ManifestError } from './manifest-error.ts';

/** One object from a multi-document YAML file, with where it came from (for error messages). */
export interface ManifestDocument {
  readonly file: string;
  readonly object: Record<string, unknown>;
}

const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

async function parseFile(file: string, display: string): Promise<ManifestDocument[]> {
  const text = await readFile(file, 'utf8');
  const documents: ManifestDocument[] = [];
  for (const [index, document] of parseAllDocuments(text).entries()) {
    if (document.errors.length > 0) {
      throw new ManifestError(
        display,
        `document ${index + 1}`,
        'YAML',
        `is invalid: ${document.errors[0]!.message}`,
      );
    }
    const object: unknown = document.toJS();
    if (object === null || object === undefined) continue;
    if (!isRecord(object)) {
      throw new ManifestError(display, `document ${index + 1}`, '(root)', 'must be an object');
    }
    documents.push({ file: display, object });
  }
  return documents;
}

async function yamlFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await yamlFilesUnder(full)));
    else if (/\.ya?ml$/.test(entry.name) && !KUSTOMIZATION_NAMES.includes(entry.name)) files.push(full);
  }
  return files;
}

/** ConfigMaps and Secrets made by kustomize generators from literals (the only generator input read here). */
function generated(kustomization: Record<string, unknown>, display: string): ManifestDocument[] {
  const documents: ManifestDocument[] = [];
  for (const [field, kind] of [
    ['configMapGenerator', 'ConfigMap'],
    ['secretGenerator', 'Secret'],
  ] as const) {
    const generators = kustomization[field];
    if (generators === undefined) continue;
    if (!Array.isArray(generators))
      throw new ManifestError(display, 'Kustomization', field, 'must be a list');
    for (const [index, generator] of generators.entries()) {
      if (!isRecord(generator) || typeof generator['name'] !== 'string') {
        throw new ManifestError(display, 'Kustomization', `${field}[${index}].name`, 'is required');
      }
      for (const key of Object.keys(generator)) {
        if (!['name', 'literals', 'behavior', 'options', 'type'].includes(key)) {
          throw new ManifestError(
            display,
            'Kustomization',
            `${field}[${index}].${key}`,
            'is not supported by the local runtime (use literals)',
          );
        }
      }
      const data: Record<string, string> = {};
      const literals = generator['literals'];
      for (const [i, literal] of (Array.isArray(literals) ? literals : []).entries()) {
        const text = String(literal);
        const at = text.indexOf('=');
        if (at <= 0)
          throw new ManifestError(
            display,
            'Kustomization',
            `${field}[${index}].literals[${i}]`,
            'must be KEY=value',
          );
        data[text.slice(0, at)] = text.slice(at + 1).replace(/^"(.*)"$/s, '$1');
      }
      const object = { apiVersion: 'v1', kind, metadata: { name: generator['name'] } } as Record<
        string,
        unknown
      >;
      object[kind === 'Secret' ? 'stringData' : 'data'] = data;
      documents.push({ file: display, object });
    }
  }
  return documents;
}

/**
 * Reads every object of a kustomize folder: the `resources` of its kustomization (files and folders,
 * recursively) and the literals of its generators, or, without a kustomization, every YAML file under it.
 */
export async function readManifestDocuments(dir: string, displayRoot: string): Promise<ManifestDocument[]> {
  const display = (file: string) => path.relative(displayRoot, file) || file;
  let kustomizationFile: string | undefined;
  for (const name of KUSTOMIZATION_NAMES) {
    if (await exists(path.join(dir, name))) {
      kustomizationFile = path.join(dir, name);
      break;
    }
  }
  if (!kustomizationFile) {
    const documents: ManifestDocument[] = [];
    for (const file of await yamlFilesUnder(dir)) documents.push(...(await parseFile(file, display(file))));
    return documents;
  }
  const [kustomization] = await parseFile(kustomizationFile, display(kustomizationFile));
  const object = kustomization?.object ?? {};
  const documents: ManifestDocument[] = [];
  const resources = object['resources'] ?? [];
  if (!Array.isArray(resources)) {
    throw new ManifestError(display(kustomizationFile), 'Kustomization', 'resources', 'must be a list');
  }
  for (const resource of resources) {
    const target = path.resolve(dir, String(resource));
    if (!(await exists(target))) {
      throw new ManifestError(
        display(kustomizationFile),
        'Kustomization',
        'resources',
        `names ${resource}, which does not exist`,
      );
    }
    if ((await stat(target)).isDirectory())
      documents.push(...(await readManifestDocuments(target, displayRoot)));
    else documents.push(...(await parseFile(target, display(target))));
  }
  documents.push(...generated(object, display(kustomizationFile)));
  return documents;
}
