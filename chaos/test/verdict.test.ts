import { describe, expect, it } from '@jest/globals';
import { summarizeMttr } from '../src/stats.ts';
import { judge, type VerdictInput } from '../src/verdict.ts';

const base: VerdictInput = {
  measuresRecovery: true,
  mttr: summarizeMttr([2000, 3000, 4000]),
  mttrSloMs: 30_000,
  disruptions: 3,
  recovered: 3,
  recoveryTimeoutMs: 120_000,
  minSuccess: 0.99,
  load: { sent: 1000, succeeded: 995 },
  loadScope: 'all orders during the experiment',
  steadyStateAfter: { ok: true, detail: 'ok' },
};

describe('verdict', () => {
  it('passes when every objective is met', () => {
    const v = judge(base);
    expect(v.passed).toBe(true);
    expect(v.reasons).toEqual([]);
    expect(v.objectives.map((o) => o.name)).toEqual([
      'every disruption recovered',
      'MTTR p95 within SLO',
      'order success ratio',
      'steady state after',
    ]);
  });

  it('fails when MTTR p95 exceeds the SLO and says by how much', () => {
    const v = judge({ ...base, mttrSloMs: 3000 });
    expect(v.passed).toBe(false);
    // Nearest rank: p95 of 3 rounds is the slowest one.
    expect(v.reasons).toEqual(['MTTR p95 4.00s exceeds the SLO of 3.00s']);
  });

  it('fails when the success ratio falls under the minimum', () => {
    const v = judge({ ...base, load: { sent: 100, succeeded: 98 } });
    expect(v.reasons).toEqual([
      'success ratio 0.9800 of all orders during the experiment is under the minimum 0.99',
    ]);
  });

  it('passes a success ratio exactly at the minimum', () => {
    expect(judge({ ...base, load: { sent: 100, succeeded: 99 } }).passed).toBe(true);
  });

  it('fails when nothing was killed or no orders were sent, rather than passing vacuously', () => {
    const v = judge({
      ...base,
      disruptions: 0,
      recovered: 0,
      mttr: summarizeMttr([]),
      load: { sent: 0, succeeded: 0 },
    });
    expect(v.passed).toBe(false);
    expect(v.reasons.join('\n')).toMatch(
      /no replica was killed[\s\S]*no recovery was measured[\s\S]*no orders were sent/,
    );
  });

  it('fails when a disruption did not recover in time', () => {
    const v = judge({ ...base, recovered: 2 });
    expect(v.reasons).toEqual(['1 disruption(s) not back to full strength within 2m']);
  });

  it('has no MTTR objectives for fault experiments, and adds the extra ones', () => {
    const v = judge({
      ...base,
      measuresRecovery: false,
      extra: [
        {
          name: 'every confirmation delivered',
          passed: false,
          expected: 'all',
          actual: '3/4',
          reason: '1 missing',
        },
      ],
    });
    expect(v.objectives.map((o) => o.name)).toEqual([
      'order success ratio',
      'steady state after',
      'every confirmation delivered',
    ]);
    expect(v.reasons).toEqual(['1 missing']);
  });

  it('fails when the steady state is not restored', () => {
    expect(
      judge({ ...base, steadyStateAfter: { ok: false, detail: 'order has 1/2 ready' } }).reasons,
    ).toEqual(['steady state not restored: order has 1/2 ready']);
  });
});
