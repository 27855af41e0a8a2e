import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { HealthRegistry } from '../src/health/health-registry.ts';

const logger = pino({ level: 'silent' });
const pass = (name: string, critical: boolean) => ({ name, critical, check: async () => undefined });
const fail = (name: string, critical: boolean) => ({
  name,
  critical,
  check: async () => {
    throw new Error(`${name} is down`);
  },
});

describe('HealthRegistry', () => {
  it('reports healthy and ready when every check passes', async () => {
    const health = new HealthRegistry({ logger });
    health.register(pass('database', true));
    health.register(pass('notification', false));
    const report = await health.readiness();
    expect(report.ready).toBe(true);
    expect(report.status).toBe('healthy');
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['database', 'healthy'],
      ['notification', 'healthy'],
    ]);
  });

  it('reports degraded but stays ready when a non-critical check fails', async () => {
    const health = new HealthRegistry({ logger });
    health.register(pass('database', true));
    health.register(fail('notification', false));
    const report = await health.readiness();
    expect(report).toMatchObject({ ready: true, status: 'degraded' });
    expect(report.checks[1]).toMatchObject({ status: 'unhealthy', message: 'notification is down' });
  });

  it('reports unhealthy and not ready when a critical check fails', async () => {
    const health = new HealthRegistry({ logger });
    health.register(fail('database', true));
    health.register(fail('notification', false));
    expect(await health.readiness()).toMatchObject({ ready: false, status: 'unhealthy' });
  });

  it('fails a check that outlives its timeout and aborts its signal', async () => {
    const health = new HealthRegistry({ logger });
    let aborted = false;
    health.register({
      name: 'slow',
      critical: true,
      timeoutMs: 20,
      check: (signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          });
        }),
    });
    const report = await health.readiness();
    expect(report.checks[0]).toMatchObject({ status: 'unhealthy', message: 'timed out after 20 ms' });
    expect(aborted).toBe(true);
  });

  it('treats a check that returns ok: false as failing, with its message', async () => {
    const health = new HealthRegistry({ logger });
    health.register({
      name: 'circuit:inventory',
      critical: false,
      check: async () => ({ ok: false, message: 'open' }),
    });
    expect((await health.readiness()).checks[0]).toMatchObject({ status: 'unhealthy', message: 'open' });
  });

  it('turns not ready at once when shutting down, whatever the checks say', async () => {
    const health = new HealthRegistry({ logger });
    health.register(pass('database', true));
    health.markShuttingDown();
    const report = await health.readiness();
    expect(report.ready).toBe(false);
    expect(report.checks.at(-1)).toMatchObject({ name: 'shutdown', message: 'shutting down' });
    expect(health.liveness().status).toBe('healthy');
  });

  it('shares one run of the checks between concurrent probes', async () => {
    const health = new HealthRegistry({ logger });
    let runs = 0;
    health.register({ name: 'counted', critical: true, check: async () => void runs++ });
    await Promise.all([health.readiness(), health.readiness(), health.readiness()]);
    expect(runs).toBe(1);
    await health.readiness();
    expect(runs).toBe(2);
  });

  it('exports each check result as health_check_status', async () => {
    const registry = new Registry();
    const health = new HealthRegistry({ logger, registry });
    health.register(pass('database', true));
    health.register(fail('notification', false));
    await health.readiness();
    const text = await registry.metrics();
    expect(text).toContain('health_check_status{check="database",critical="true"} 1');
    expect(text).toContain('health_check_status{check="notification",critical="false"} 0');
  });

  it('refuses two checks with one name and forgets a removed check', async () => {
    const health = new HealthRegistry({ logger });
    const remove = health.register(pass('database', true));
    expect(() => health.register(pass('database', true))).toThrow('registered already');
    remove();
    expect((await health.readiness()).checks).toEqual([]);
  });
});
