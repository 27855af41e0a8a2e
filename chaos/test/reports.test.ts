import { describe, expect, it } from '@jest/globals';
import { escapeXml, renderJUnit } from '../src/report/junit.ts';
import { escapeLabel, renderMetrics } from '../src/report/prometheus.ts';

/** A strict little well-formedness check: balanced tags, quoted attributes, only known entities. */
function assertWellFormed(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/gy;
  for (let m = token.exec(body); m; m = token.exec(body)) {
    if (m[6]) throw new Error(`stray < at ${m.index}`);
    if (m[5] !== undefined) {
      const text = m[5].replace(/&(amp|lt|gt|quot|apos);/g, '');
      if (/[&<]/.test(text)) throw new Error(`unescaped text: ${m[5]}`);
      continue;
    }
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[3])) throw new Error(`unescaped attribute: ${m[3]}`);
    if (m[1]) {
      if (stack.pop() !== m[2]) throw new Error(`mismatched </${m[2]}>`);
    } else if (!m[4]) stack.push(m[2]);
  }
  if (token.lastIndex !== 0 && token.lastIndex !== body.length) throw new Error('trailing garbage');
  if (stack.length) throw new Error(`unclosed ${stack.join(',')}`);
}

describe('JUnit XML', () => {
  it('escapes markup, quotes and control characters', () => {
    expect(escapeXml(`a<b>&"c"'d'\u0007`)).toBe('a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;');
  });

  it('writes a testcase per case, failures with their reason, and stays well-formed', () => {
    const xml = renderJUnit({
      name: 'chaos.pod-kill',
      timestamp: '2026-11-24T10:00:00.000Z',
      cases: [
        {
          classname: 'chaos.pod-kill.rounds',
          name: 'round 1: pod-kill order (order-<x>&"y")',
          timeSeconds: 1.5,
        },
        {
          classname: 'chaos.pod-kill.objectives',
          name: 'MTTR p95 within SLO',
          timeSeconds: 0,
          failure: {
            message: 'MTTR p95 3.90s exceeds the SLO of 3.00s',
            details: 'expected <= 3s\nactual 3.9s & more',
          },
        },
        {
          classname: 'chaos.pod-kill.rounds',
          name: 'round 2',
          timeSeconds: 0,
          skipped: 'eviction refused by a PDB',
        },
      ],
    });
    assertWellFormed(xml);
    expect(xml).toContain('tests="3" failures="1" errors="0" skipped="1"');
    expect(xml).toContain('name="round 1: pod-kill order (order-&lt;x&gt;&amp;&quot;y&quot;)"');
    expect(xml).toContain('<failure message="MTTR p95 3.90s exceeds the SLO of 3.00s"');
    expect(xml).toContain('actual 3.9s &amp; more</failure>');
    expect(() => assertWellFormed('<a><b></a>')).toThrow();
    expect(() => assertWellFormed('<a x="1 & 2"></a>')).toThrow();
  });
});

describe('metrics.prom', () => {
  it('writes the contract metric names with experiment and quantile labels', () => {
    const text = renderMetrics({
      experiment: 'pod-kill',
      mttrSeconds: { min: 1, p50: 2, p95: 3.5, max: 4 },
      kills: 3,
      successRatio: 0.995,
      passed: true,
      timestampSeconds: 1_800_000_000,
    });
    expect(text).toContain('chaos_mttr_seconds{experiment="pod-kill",quantile="0.95"} 3.5');
    expect(text).toContain('chaos_mttr_seconds{experiment="pod-kill",quantile="0.5"} 2');
    expect(text).toContain('chaos_kills_total{experiment="pod-kill"} 3');
    expect(text).toContain('chaos_success_ratio{experiment="pod-kill"} 0.995');
    expect(text).toContain('chaos_verdict{experiment="pod-kill"} 1');
    expect(text).toContain('chaos_last_run_timestamp_seconds{experiment="pod-kill"} 1800000000');
    expect(text).toMatch(/# TYPE chaos_kills_total counter/);
    for (const line of text.trim().split('\n'))
      expect(line).toMatch(/^(# (HELP|TYPE) chaos_\w+ .+|chaos_\w+\{[^}]*\} \S+)$/);
  });

  it('omits MTTR when nothing was measured and escapes label values', () => {
    const text = renderMetrics({
      experiment: 'x"y',
      mttrSeconds: undefined,
      kills: 0,
      successRatio: Number.NaN,
      passed: false,
      timestampSeconds: 1,
    });
    expect(text).not.toMatch(/^chaos_mttr_seconds/m);
    expect(text).toContain('chaos_success_ratio{experiment="x\\"y"} NaN');
    expect(escapeLabel('a\\b\n')).toBe('a\\\\b\\n');
  });
});
