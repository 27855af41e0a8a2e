import { describe, expect, it } from '@jest/globals';
import { HorizontalPodAutoscaler } from '../src/autoscaling/hpa.ts';
import type { HpaSpec } from '../src/manifests/hpa-spec.ts';
import { CpuSampler, processCpuSeconds } from '../src/autoscaling/cpu-usage.ts';

const unlimited = {
  selectPolicy: 'Max' as const,
  policies: [{ type: 'Percent' as const, value: 1000, periodMs: 15_000 }],
};
const spec = (overrides: Partial<HpaSpec> = {}): HpaSpec => ({
  name: 'order',
  file: 'hpa.yaml',
  deployment: 'order',
  minReplicas: 2,
  maxReplicas: 10,
  targetCpuUtilization: 50,
  scaleUp: { stabilizationWindowMs: 0, ...unlimited },
  scaleDown: { stabilizationWindowMs: 60_000, ...unlimited },
  ...overrides,
});

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('HPA arithmetic', () => {
  it('scales to ceil(current × utilisation / target), at once upwards', () => {
    const hpa = new HorizontalPodAutoscaler(spec(), clock().now);
    const decision = hpa.evaluate(2, 130);
    expect(decision.desired).toBe(6); // ceil(2 × 130 / 50)
    expect(decision.reason).toBe('cpu utilisation 130% (target 50%): 2 -> 6');
  });

  it('keeps the count within the 10 % tolerance of the target', () => {
    const hpa = new HorizontalPodAutoscaler(spec(), clock().now);
    expect(hpa.evaluate(4, 54).desired).toBe(4);
    expect(hpa.evaluate(4, 46).desired).toBe(4);
    expect(hpa.evaluate(4, 56).desired).toBe(5);
  });

  it('stays within minReplicas and maxReplicas, also without metrics', () => {
    const hpa = new HorizontalPodAutoscaler(spec({ minReplicas: 3, maxReplicas: 5 }), clock().now);
    expect(hpa.evaluate(1, undefined).desired).toBe(3);
    expect(hpa.evaluate(3, 1000).desired).toBe(5);
    expect(hpa.evaluate(5, undefined).desired).toBe(5);
  });

  it('scales down only once the higher recommendations left the stabilisation window', () => {
    const c = clock();
    const hpa = new HorizontalPodAutoscaler(spec(), c.now);
    expect(hpa.evaluate(2, 200).desired).toBe(8);
    for (let t = 15_000; t < 60_000; t += 15_000) {
      c.advance(15_000);
      expect(hpa.evaluate(8, 10).desired).toBe(8); // the recommendation of 8 is still in the window
    }
    c.advance(15_000);
    expect(hpa.evaluate(8, 10).desired).toBe(2); // ceil(8 × 10 / 50) = 2 after 60 s
  });

  it('takes the highest recommendation of the window when scaling down', () => {
    const c = clock();
    const hpa = new HorizontalPodAutoscaler(spec(), c.now);
    hpa.evaluate(8, 50); // 8
    c.advance(20_000);
    hpa.evaluate(8, 25); // 4
    c.advance(20_000);
    hpa.evaluate(8, 12.5); // 2
    c.advance(25_000); // the 8 has left the 60 s window, the 4 has not
    expect(hpa.evaluate(8, 12.5).desired).toBe(4);
  });

  it('limits the change per period with the scaling policies', () => {
    const c = clock();
    const hpa = new HorizontalPodAutoscaler(
      spec({
        scaleUp: {
          stabilizationWindowMs: 0,
          selectPolicy: 'Max',
          policies: [{ type: 'Pods', value: 2, periodMs: 15_000 }],
        },
        scaleDown: {
          stabilizationWindowMs: 0,
          selectPolicy: 'Max',
          policies: [{ type: 'Pods', value: 1, periodMs: 60_000 }],
        },
      }),
      c.now,
    );
    expect(hpa.evaluate(2, 500).desired).toBe(4); // wants 10, 2 pods per 15 s
    c.advance(5_000);
    expect(hpa.evaluate(4, 500).desired).toBe(4); // the period's 2 pods are used
    c.advance(15_000);
    expect(hpa.evaluate(4, 500).desired).toBe(6);
    c.advance(15_000);
    expect(hpa.evaluate(6, 1).desired).toBe(5); // one pod a minute downwards
    c.advance(30_000);
    expect(hpa.evaluate(5, 1).desired).toBe(5);
    c.advance(31_000);
    expect(hpa.evaluate(5, 1).desired).toBe(4);
  });

  it('does not scale in a direction whose selectPolicy is Disabled', () => {
    const hpa = new HorizontalPodAutoscaler(
      spec({
        scaleDown: { stabilizationWindowMs: 0, selectPolicy: 'Disabled', policies: unlimited.policies },
      }),
      clock().now,
    );
    expect(hpa.evaluate(6, 1).desired).toBe(6);
  });
});

describe('CPU usage', () => {
  it('reads this process CPU time from /proc', async () => {
    const seconds = await processCpuSeconds(process.pid);
    expect(seconds).toBeGreaterThan(0);
  });

  it('turns two readings into cores used over the interval', async () => {
    let now = 0;
    let cpu = 10;
    const sampler = new CpuSampler({ now: () => now, read: async () => cpu });
    expect((await sampler.sample([42])).size).toBe(0);
    now += 2_000;
    cpu += 0.5;
    expect((await sampler.sample([42])).get(42)).toBeCloseTo(0.25);
  });
});

describe('Autoscaler', () => {
  it('measures every HPA of the platform in each round, not only the first', async () => {
    const { Autoscaler } = await import('../src/autoscaling/autoscaler.ts');
    const { pino } = await import('pino');
    // Each process burns half a core: 500% of a 100m request, whatever Deployment it belongs to.
    const c = clock();
    const sampler = new CpuSampler({ now: c.now, read: async () => c.now() / 2000 });
    const scaled: string[] = [];
    const controller = (name: string, pids: number[]) => ({
      readyReplicas: pids.map((pid) => ({ pid })),
      spec: { cpuRequestCores: 0.1 },
      desired: 2,
      scale: (replicas: number) => void scaled.push(`${name} -> ${replicas}`),
    });
    const autoscaler = new Autoscaler({
      specs: [
        spec({ name: 'order', deployment: 'order' }),
        spec({ name: 'inventory', deployment: 'inventory' }),
      ],
      controllers: new Map([
        ['order', controller('order', [11, 12])],
        ['inventory', controller('inventory', [21, 22])],
      ]) as unknown as ConstructorParameters<typeof Autoscaler>[0]['controllers'],
      intervalMs: 15_000,
      logger: pino({ level: 'silent' }),
      sampler,
    });
    await autoscaler.evaluate();
    expect(scaled).toEqual([]);
    c.advance(15_000);
    await autoscaler.evaluate();
    expect(scaled).toEqual(['order -> 10', 'inventory -> 10']);
  });
});
