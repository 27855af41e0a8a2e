// Unknown-field check. The kubernetes-models validators accept fields that the schema does not know
// (`replicass: 2`, `readinesProbe:`), which the API server would prune or reject. TypeScript's
// excess-property check does catch them: each object becomes a literal typed with its model's
// interface, and the compiler reports every field the interface lacks, with its path.
import { join } from 'node:path';
import ts from 'typescript';
import { models, repoRoot, typeKey } from './manifests.ts';
import type { LoadedObject } from './manifests.ts';

export function strictTypeProblems(objects: LoadedObject[]): string[] {
  const fileName = join(repoRoot, 'k8s/test/__strict_types__.ts');
  const imports = new Map<string, string>();
  const lines: string[] = [];
  const owner: number[] = []; // line -> object index
  const problems: string[] = [];
  objects.forEach(({ object, source }, index) => {
    const entry = models[typeKey(object)];
    if (!entry) {
      problems.push(`${source}: no schema known for ${typeKey(object)}`);
      return;
    }
    const alias = `T${imports.size}`;
    if (!imports.has(entry.typeImport)) imports.set(entry.typeImport, alias);
    const body = `export const o${index}: ${imports.get(entry.typeImport)}.${entry.typeName} = ${JSON.stringify(object, null, 1)};`;
    for (const line of body.split('\n')) {
      lines.push(line);
      owner.push(index);
    }
  });
  const header = [...imports].map(([path, alias]) => `import type * as ${alias} from '${path}';`);
  const text = [...header, ...lines].join('\n');

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => (name === fileName ? text : readFile(name));
  host.fileExists = (
    (exists) => (name: string) =>
      name === fileName || exists(name)
  )(host.fileExists.bind(host));
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, text, languageVersion, true)
      : getSourceFile(name, languageVersion, ...rest);
  const program = ts.createProgram([fileName], options, host);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (diagnostic.file?.fileName === fileName && diagnostic.start !== undefined) {
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
      const index = owner[line - header.length];
      const where =
        index === undefined
          ? 'imports'
          : `${objects[index].source} ${typeKey(objects[index].object)} ${objects[index].object.metadata?.name}`;
      const snippet = text.split('\n')[line]?.trim();
      problems.push(`${where}: ${message} (at ${snippet})`);
    } else {
      problems.push(message);
    }
  }
  return problems;
}
