/** A manifest field the local runtime cannot read or honour; the message names the file, object and field. */
export class ManifestError extends Error {
  readonly file: string;
  readonly field: string;

  constructor(file: string, object: string, field: string, problem: string) {
    super(`${file}: ${object}: ${field} ${problem}`);
    this.name = 'ManifestError';
    this.file = file;
    this.field = field;
  }
}
