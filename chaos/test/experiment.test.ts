import { describe, expect, it } from '@jest/globals';
import { listExperiments, loadExperiment, parseExperiment } from '../src/experiment.ts';

describe('experiment files', () => {
  it('ships every experiment as a valid file named after it', async () => {
    const names = (await listExperiments()).map((e) => e.name);
    expect([...names].sort()).toEqual([
      'burst',
      'cpu-contention',
      'cpu-stress',
      'database-kill',
      'dependency-outage',
      'error-injection',
      'latency-injection',
      'pod-freeze',
      'pod-kill',
      'pod-kill-all',
    ]);
  });

  it('reads durations and fills defaults', async () => {
    const e = await loadExperiment('pod-kill');
    expect(e.action).toEqual({ kind: 'pod-kill' });
    expect(e.defaults).toMatchObject({
      rounds: 3,
      interval: 10_000,
      mttrSlo: 30_000,
      minSuccess: 0.99,
      recoveryTimeout: 120_000,
    });
    expect(e.outage).toBe(false);
    const all = await loadExperiment('pod-kill-all');
    expect(all.outage).toBe(true);
    expect(all.objectives.successAfterRecoveryOnly).toBe(true);
  });

  it('names every bad field with its path', () => {
    expect(() =>
      parseExperiment({
        name: 'Bad Name',
        description: 'x',
        action: { kind: 'fault', workload: 'order', duration: '10 parsecs', fault: { type: 'latency' } },
        defaults: { minSuccess: 2 },
      }),
    ).toThrow(
      /name: lower-case[\s\S]*action\.fault\.latencyMs: latencyMs is required for a latency fault[\s\S]*action\.duration: invalid duration[\s\S]*defaults\.minSuccess/,
    );
  });

  it('rejects a bare number as a duration and a fault field the services would refuse', () => {
    expect(() =>
      parseExperiment({
        name: 'x',
        description: 'x',
        action: { kind: 'pod-kill' },
        defaults: { interval: '10' },
      }),
    ).toThrow(/defaults\.interval: invalid duration "10" \(a bare number has no unit\)/);
    expect(() =>
      parseExperiment({
        name: 'x',
        description: 'x',
        action: {
          kind: 'fault',
          workload: 'order',
          duration: '1s',
          fault: { type: 'cpu', route: '/orders' },
        },
      }),
    ).toThrow(/action\.fault\.route: route does not apply to cpu faults/);
  });

  it('rejects an unknown action kind and unknown fields', () => {
    expect(() => parseExperiment({ name: 'x', description: 'x', action: { kind: 'meteor' } })).toThrow(
      'action.kind',
    );
    expect(() =>
      parseExperiment({ name: 'x', description: 'x', action: { kind: 'pod-kill' }, extra: 1 }),
    ).toThrow('Unrecognized key');
  });

  it('lists the known experiments when one is unknown', async () => {
    await expect(loadExperiment('nope')).rejects.toThrow(
      /unknown experiment "nope"; known: burst, cpu-contention, .*pod-kill-all/,
    );
  });
});
