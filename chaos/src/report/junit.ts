/** JUnit XML for Jenkins (junit step) and GitHub Actions test reporters. */

export interface JUnitCase {
  classname: string;
  name: string;
  timeSeconds: number;
  failure?: { message: string; details?: string };
  skipped?: string;
  systemOut?: string;
}

// Characters XML 1.0 does not allow at all; they are dropped rather than escaped.
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

export function escapeXml(text: string): string {
  return text
    .replace(INVALID_XML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (s: number): string => (Number.isFinite(s) ? s.toFixed(3) : '0');

export function renderJUnit(suite: { name: string; timestamp: string; cases: readonly JUnitCase[] }): string {
  const failures = suite.cases.filter((c) => c.failure).length;
  const skipped = suite.cases.filter((c) => c.skipped !== undefined && !c.failure).length;
  const total = suite.cases.reduce((s, c) => s + c.timeSeconds, 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${escapeXml(suite.name)}" tests="${suite.cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(total)}">`,
    `  <testsuite name="${escapeXml(suite.name)}" tests="${suite.cases.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(total)}" timestamp="${escapeXml(suite.timestamp)}">`,
  ];
  for (const c of suite.cases) {
    const open = `    <testcase classname="${escapeXml(c.classname)}" name="${escapeXml(c.name)}" time="${seconds(c.timeSeconds)}"`;
    const body: string[] = [];
    if (c.failure) {
      body.push(
        `      <failure message="${escapeXml(c.failure.message)}" type="ObjectiveFailed">${escapeXml(c.failure.details ?? c.failure.message)}</failure>`,
      );
    } else if (c.skipped !== undefined) {
      body.push(`      <skipped message="${escapeXml(c.skipped)}"/>`);
    }
    if (c.systemOut) body.push(`      <system-out>${escapeXml(c.systemOut)}</system-out>`);
    lines.push(body.length ? `${open}>\n${body.join('\n')}\n    </testcase>` : `${open}/>`);
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
