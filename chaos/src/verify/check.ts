/**
 * The checks of `chaos verify`: each one a line (✓/✗/–, name, what was seen, and on failure what to do
 * next), run one after the other so that the lines appear as the checks finish.
 */

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  /** What the check saw, e.g. `order 2/2, inventory 2/2`. */
  seen: string;
  /** On failure: what to do next. */
  next?: string;
}

export interface CheckOutcome {
  status: CheckStatus;
  seen: string;
  next?: string;
}

export interface Check {
  name: string;
  /** What to do next when the check throws (it could not even look). */
  next: string;
  run: () => Promise<CheckOutcome>;
}

export const pass = (seen: string): CheckOutcome => ({ status: 'pass', seen });
export const fail = (seen: string, next: string): CheckOutcome => ({ status: 'fail', seen, next });
export const skip = (seen: string): CheckOutcome => ({ status: 'skip', seen });

/** Runs the checks in order; a check that throws fails with the error's message. */
export async function runChecks(
  checks: readonly Check[],
  onResult: (result: CheckResult) => void,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    let outcome: CheckOutcome;
    try {
      outcome = await check.run();
    } catch (error) {
      outcome = fail((error as Error).message, check.next);
    }
    const result: CheckResult = { name: check.name, ...outcome };
    results.push(result);
    onResult(result);
  }
  return results;
}

const SYMBOL: Record<CheckStatus, string> = { pass: '✓', fail: '✗', skip: '–' };

/** `✓ name: seen`, and on failure an indented `→ next` line. */
export function renderResult(result: CheckResult): string {
  const line = `${SYMBOL[result.status]} ${result.name}: ${result.seen}`;
  return result.status === 'fail' && result.next ? `${line}\n    → ${result.next}` : line;
}

/**
 * Polls `look` until its outcome passes or `waitMs` has passed, and returns the last outcome: what
 * converges after `make up` (rollouts, first scrapes, rule and dashboard loading) gets that long. A look
 * that throws (nothing answers, a 401) fails at once: waiting would not change it.
 */
export async function settle(
  look: () => Promise<CheckOutcome>,
  waitMs: number,
  intervalMs = 1000,
): Promise<CheckOutcome> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const outcome = await look();
    if (outcome.status !== 'fail' || Date.now() + intervalMs > deadline) return outcome;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
