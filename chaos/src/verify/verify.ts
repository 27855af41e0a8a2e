/**
 * `chaos verify`: the self-check after `make up`. One line per check as it finishes, then a summary
 * naming the failed checks; `--json` prints one JSON document instead. Exit 0 when no check failed
 * (skipped ones do not fail it: an optional part that is not installed), 1 otherwise.
 */
import { renderResult, runChecks, type Check, type CheckResult } from './check.ts';

export const EXIT_VERIFIED = 0;
export const EXIT_CHECK_FAILED = 1;

export interface VerifyReport {
  target: string;
  passed: boolean;
  failed: string[];
  checks: CheckResult[];
}

export async function verify(
  target: { kind: string; description: string },
  checks: readonly Check[],
  options: { json: boolean; print: (line: string) => void },
): Promise<{ exitCode: number; report: VerifyReport }> {
  if (!options.json) options.print(`verify: ${target.description}`);
  const results = await runChecks(checks, (result) => {
    if (!options.json) options.print(renderResult(result));
  });
  const failed = results.filter((r) => r.status === 'fail').map((r) => r.name);
  const report: VerifyReport = { target: target.kind, passed: failed.length === 0, failed, checks: results };
  if (options.json) options.print(JSON.stringify(report, null, 2));
  else {
    const passed = results.filter((r) => r.status === 'pass').length;
    const skipped = results.length - passed - failed.length;
    options.print(
      failed.length === 0
        ? `verify: ${passed}/${results.length} checks passed${skipped ? `, ${skipped} skipped` : ''}`
        : `verify: FAILED ${failed.length}/${results.length}: ${failed.join(', ')}`,
    );
  }
  return { exitCode: failed.length === 0 ? EXIT_VERIFIED : EXIT_CHECK_FAILED, report };
}
