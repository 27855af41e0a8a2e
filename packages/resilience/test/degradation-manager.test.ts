import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import {
  DEGRADATION_LEVELS,
  DegradationManager,
  degradationLevelValue,
  type DegradationLevel,
  type DegradationChange,
  type DegradationManagerOptions,
} from '../src/degradation/degradation-manager.ts';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function capturingLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

function orderManager(overrides: Partial<DegradationManagerOptions> = {}) {
  const registry = new Registry();
  const { logger, lines } = capturingLogger();
  const manager = new DegradationManager({
    service: 'order',
    features: [
      { name: 'create-order', priority: 1 },
      { name: 'send-confirmation', priority: 2 },
      { name: 'recommendations', priority: 3 },
    ],
    signals: [
      { name: 'notification', whenFailing: 'degraded' },
      { name: 'inventory', whenFailing: 'minimal' },
      { name: 'database', whenFailing: 'emergency' },
    ],
    registry,
    logger,
    ...overrides,
  });
  return { manager, registry, lines };
}

async function gaugeValues(registry: Registry, name: string) {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  return values.map((v) => ({ labels: v.labels, value: v.value }));
}

function enabledFeatures(manager: DegradationManager): string[] {
  return manager
    .snapshot()
    .features.filter((f) => f.enabled)
    .map((f) => f.name);
}

describe('DegradationManager', () => {
  it('starts at normal with every feature enabled', () => {
    const { manager } = orderManager();
    expect(manager.level).toBe('normal');
    expect(enabledFeatures(manager)).toEqual(['create-order', 'send-confirmation', 'recommendations']);
  });

  it('takes the worst level caused by the failing signals', () => {
    const { manager } = orderManager();
    manager.setSignal('notification', false);
    expect(manager.level).toBe('degraded');
    manager.setSignal('inventory', false);
    expect(manager.level).toBe('minimal');
    manager.setSignal('notification', true);
    expect(manager.level).toBe('minimal');
    manager.setSignal('database', false);
    expect(manager.level).toBe('emergency');
    manager.setSignals({ database: true, inventory: true });
    expect(manager.level).toBe('normal');
  });

  it('always sits at the override, else the worst failing signal, and reports exactly the changes (property)', () => {
    const operation = fc.oneof(
      fc.record({
        kind: fc.constant('signal' as const),
        name: fc.constantFrom('notification', 'inventory', 'database'),
        ok: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('override' as const),
        level: fc.option(fc.constantFrom(...DEGRADATION_LEVELS), { nil: null }),
      }),
    );
    const impact: Record<string, DegradationLevel> = {
      notification: 'degraded',
      inventory: 'minimal',
      database: 'emergency',
    };
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 40 }), (operations) => {
        const { manager } = orderManager();
        const changes: DegradationChange[] = [];
        manager.onChange((change) => changes.push(change));
        const failing = new Set<string>();
        let override: DegradationLevel | null = null;
        let expectedChanges = 0;
        let previous: DegradationLevel = 'normal';
        for (const op of operations) {
          if (op.kind === 'signal') {
            manager.setSignal(op.name, op.ok);
            if (op.ok) failing.delete(op.name);
            else failing.add(op.name);
          } else {
            manager.setOverride(op.level);
            override = op.level;
          }
          const automatic = [...failing].reduce<DegradationLevel>(
            (worst, name) =>
              degradationLevelValue(impact[name]!) > degradationLevelValue(worst) ? impact[name]! : worst,
            'normal',
          );
          const expected = override ?? automatic;
          expect(manager.level).toBe(expected);
          if (expected !== previous) expectedChanges++;
          previous = expected;
        }
        expect(changes).toHaveLength(expectedChanges);
        for (const [i, change] of changes.entries()) {
          expect(change.from).not.toBe(change.to);
          if (i > 0) expect(change.from).toBe(changes[i - 1]!.to);
        }
      }),
    );
  });

  it('sheds features by priority as the level rises', () => {
    const { manager } = orderManager();
    manager.setSignal('notification', false);
    expect(enabledFeatures(manager)).toEqual(['create-order', 'send-confirmation']);
    expect(manager.isEnabled('recommendations')).toBe(false);
    manager.setSignal('inventory', false);
    expect(enabledFeatures(manager)).toEqual(['create-order']);
    manager.setSignal('database', false);
    expect(enabledFeatures(manager)).toEqual([]);
    expect(manager.isEnabled('create-order')).toBe(false);
  });

  it('lets the override win over the automatic level until it is cleared', () => {
    const { manager } = orderManager();
    manager.setSignal('inventory', false);
    manager.setOverride('normal');
    expect(manager.level).toBe('normal');
    expect(manager.isEnabled('recommendations')).toBe(true);

    manager.setSignal('database', false);
    expect(manager.level).toBe('normal');
    expect(manager.snapshot()).toMatchObject({
      level: 'normal',
      automaticLevel: 'emergency',
      override: 'normal',
    });

    manager.setOverride('degraded');
    expect(manager.level).toBe('degraded');
    manager.setOverride(null);
    expect(manager.level).toBe('emergency');
    expect(manager.override).toBeNull();
  });

  it('notifies listeners of each level change with its reason', () => {
    const { manager } = orderManager();
    const changes: DegradationChange[] = [];
    manager.onChange((change) => changes.push(change));
    manager.setSignal('notification', false);
    manager.setOverride('emergency');
    manager.setOverride(null);
    expect(changes).toEqual([
      { from: 'normal', to: 'degraded', reason: 'signal notification failing' },
      { from: 'degraded', to: 'emergency', reason: 'override emergency' },
      { from: 'emergency', to: 'degraded', reason: 'override cleared' },
    ]);
  });

  it('emits no change event and no log when the effective level stays the same', () => {
    const { manager, lines } = orderManager();
    const changes: DegradationChange[] = [];
    manager.onChange((change) => changes.push(change));
    manager.setSignal('notification', true);
    manager.setSignal('inventory', false);
    manager.setSignal('inventory', false);
    manager.setSignal('notification', false);
    manager.setOverride('minimal');
    manager.setOverride(null);
    expect(changes).toEqual([{ from: 'normal', to: 'minimal', reason: 'signal inventory failing' }]);
    expect(lines.filter((l) => l.msg === 'degradation level changed')).toHaveLength(1);
  });

  it('reports several signals as one change', () => {
    const { manager } = orderManager();
    const changes: DegradationChange[] = [];
    manager.onChange((change) => changes.push(change));
    manager.setSignals({ notification: false, inventory: false });
    expect(changes).toEqual([
      { from: 'normal', to: 'minimal', reason: 'signal notification failing, inventory failing' },
    ]);
  });

  it('stops notifying a listener once disposed', () => {
    const { manager } = orderManager();
    const changes: DegradationChange[] = [];
    const subscription = manager.onChange((change) => changes.push(change));
    manager.setSignal('notification', false);
    subscription.dispose();
    manager.setSignal('notification', true);
    expect(changes).toHaveLength(1);
  });

  it('logs a failing listener and still notifies the others', () => {
    const { manager, lines } = orderManager();
    const seen: string[] = [];
    manager.onChange(() => {
      throw new Error('listener broke');
    });
    manager.onChange((change) => seen.push(change.to));
    manager.setSignal('notification', false);
    expect(seen).toEqual(['degraded']);
    expect(lines.find((l) => l.msg === 'degradation change listener failed')).toMatchObject({
      level: 50,
      err: { message: 'listener broke' },
    });
  });

  it('logs level changes as a warning with service, from, to and reason', () => {
    const { manager, lines } = orderManager();
    manager.setSignal('inventory', false);
    expect(lines.filter((l) => l.msg === 'degradation level changed')).toEqual([
      expect.objectContaining({
        level: 40,
        service: 'order',
        from: 'normal',
        to: 'minimal',
        reason: 'signal inventory failing',
      }),
    ]);
  });

  it('publishes the level and each feature in the gauges', async () => {
    const { manager, registry } = orderManager();
    expect(await gaugeValues(registry, 'degradation_level')).toEqual([
      { labels: { service: 'order' }, value: 0 },
    ]);

    manager.setSignal('inventory', false);
    expect(await gaugeValues(registry, 'degradation_level')).toEqual([
      { labels: { service: 'order' }, value: 2 },
    ]);
    expect(await gaugeValues(registry, 'feature_enabled')).toEqual([
      { labels: { service: 'order', feature: 'create-order' }, value: 1 },
      { labels: { service: 'order', feature: 'send-confirmation' }, value: 0 },
      { labels: { service: 'order', feature: 'recommendations' }, value: 0 },
    ]);

    manager.setOverride('emergency');
    expect(await gaugeValues(registry, 'degradation_level')).toEqual([
      { labels: { service: 'order' }, value: 3 },
    ]);
  });

  it('registers its gauges once per registry so that several managers share them', async () => {
    const registry = new Registry();
    const { logger } = capturingLogger();
    const features = [{ name: 'search', priority: 2 }];
    const signals = [{ name: 'db', whenFailing: 'minimal' as const }];
    const a = new DegradationManager({ service: 'a', features, signals, registry, logger });
    new DegradationManager({ service: 'b', features, signals, registry, logger });
    a.setSignal('db', false);
    expect(await gaugeValues(registry, 'degradation_level')).toEqual([
      { labels: { service: 'a' }, value: 2 },
      { labels: { service: 'b' }, value: 0 },
    ]);
    expect(registry.getMetricsAsArray().map((m) => m.name)).toEqual(['degradation_level', 'feature_enabled']);
  });

  it('uses a custom rule, given the failing signals sorted by name', () => {
    const seen: string[][] = [];
    const { manager } = orderManager({
      // Two failing dependencies of any kind are as bad as losing the database.
      rule: (failing) => {
        seen.push(failing.map((s) => s.name));
        return failing.length >= 2 ? 'emergency' : failing.length === 1 ? 'degraded' : 'normal';
      },
    });
    manager.setSignal('notification', false);
    expect(manager.level).toBe('degraded');
    manager.setSignal('inventory', false);
    expect(manager.level).toBe('emergency');
    expect(seen).toEqual([['notification'], ['inventory', 'notification']]);
  });

  it('rejects unknown features and signals without changing anything', () => {
    const { manager } = orderManager();
    expect(() => manager.isEnabled('recomendations')).toThrow('unknown feature "recomendations"');
    expect(() => manager.setSignals({ notification: false, notifcation: false })).toThrow(
      'unknown signal "notifcation"',
    );
    expect(manager.level).toBe('normal');
    expect(manager.snapshot().signals.every((s) => s.ok)).toBe(true);
  });

  it('rejects bad declarations and overrides', () => {
    const { logger } = capturingLogger();
    const registry = new Registry();
    expect(
      () =>
        new DegradationManager({ service: 's', features: [{ name: 'x', priority: 0 }], registry, logger }),
    ).toThrow('priority must be an integer >= 1');
    expect(
      () =>
        new DegradationManager({
          service: 's',
          features: [
            { name: 'x', priority: 1 },
            { name: 'x', priority: 2 },
          ],
          registry,
          logger,
        }),
    ).toThrow('feature "x" is declared twice');
    const { manager } = orderManager();
    expect(() => manager.setOverride('panic' as never)).toThrow('override must be one of');
  });

  it('describes signals, features and levels in its snapshot', () => {
    const { manager } = orderManager();
    manager.setSignal('notification', false);
    expect(manager.snapshot()).toEqual({
      service: 'order',
      level: 'degraded',
      automaticLevel: 'degraded',
      override: null,
      signals: [
        { name: 'notification', ok: false, whenFailing: 'degraded' },
        { name: 'inventory', ok: true, whenFailing: 'minimal' },
        { name: 'database', ok: true, whenFailing: 'emergency' },
      ],
      features: [
        { name: 'create-order', priority: 1, enabled: true },
        { name: 'send-confirmation', priority: 2, enabled: true },
        { name: 'recommendations', priority: 3, enabled: false },
      ],
    });
  });
});
