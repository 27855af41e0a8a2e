import { describe, expect, it } from '@jest/globals';
import {
  checkConfirmed,
  checkContext,
  checkNamespace,
  checkSelector,
  mayKill,
  mayKillAll,
} from '../src/safety.ts';
import type { Replica, WorkloadStatus } from '../src/target.ts';

const replica = (name: string, over: Partial<Replica> = {}): Replica => ({
  name,
  workload: 'order',
  uid: `uid-${name}`,
  ready: true,
  phase: 'Running',
  protected: false,
  ...over,
});
const status: WorkloadStatus = {
  name: 'order',
  kind: 'Deployment',
  desired: 2,
  ready: 2,
  updated: 2,
  available: 2,
  generation: 1,
  observedGeneration: 1,
  protected: false,
};

describe('safety rules', () => {
  it('never kills a protected replica or a replica of a protected workload', () => {
    const a = replica('a', { protected: true });
    expect(mayKill(a, [a, replica('b')], status, false)).toEqual({
      allowed: false,
      reason: 'a is labelled protected',
    });
    expect(mayKill(replica('b'), [a, replica('b')], { ...status, protected: true }, true).allowed).toBe(
      false,
    );
  });

  it('refuses to kill the last ready replica unless the experiment is an outage', () => {
    const a = replica('a');
    const b = replica('b', { ready: false });
    expect(mayKill(a, [a, b], status, false)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('no ready replica'),
    });
    expect(mayKill(a, [a, b], status, true)).toEqual({ allowed: true });
    expect(mayKill(a, [a, replica('c')], status, false)).toEqual({ allowed: true });
  });

  it('does not count a terminating replica as ready', () => {
    const a = replica('a');
    const b = replica('b', { phase: 'terminating' });
    expect(mayKill(a, [a, b], status, false).allowed).toBe(false);
  });

  it('kills every replica only in an outage experiment and never a protected one', () => {
    const rs = [replica('a'), replica('b')];
    expect(mayKillAll('order', rs, status, false)).toMatchObject({ allowed: false });
    expect(mayKillAll('order', rs, status, true)).toMatchObject({ allowed: true, victims: rs });
    expect(mayKillAll('order', [replica('a', { protected: true })], status, true)).toMatchObject({
      allowed: false,
    });
  });

  it('accepts kind-* contexts and another one only when --allow-context names it', () => {
    expect(() => checkContext('kind-shop', undefined)).not.toThrow();
    expect(() => checkContext('prod', undefined)).toThrow('--allow-context prod');
    expect(() => checkContext('prod', 'staging')).toThrow('not a KIND cluster');
    expect(() => checkContext('prod', 'prod')).not.toThrow();
  });

  it('needs --yes or CHAOS_CONFIRM=1 to disrupt Kubernetes', () => {
    expect(() => checkConfirmed({ yes: false, env: {} })).toThrow('--yes');
    expect(() => checkConfirmed({ yes: false, env: { CHAOS_CONFIRM: 'yes' } })).toThrow('--yes');
    expect(() => checkConfirmed({ yes: false, env: { CHAOS_CONFIRM: '1' } })).not.toThrow();
    expect(() => checkConfirmed({ yes: true, env: {} })).not.toThrow();
  });

  it('allows only listed namespaces and a non-empty selector', () => {
    expect(() => checkNamespace('shop', ['shop'])).not.toThrow();
    expect(() => checkNamespace('kube-system', ['shop'])).toThrow('--allow-namespace kube-system');
    expect(() => checkSelector(' ')).toThrow('every pod');
  });
});
