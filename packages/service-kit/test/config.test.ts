import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { baseConfigShape, ConfigError, parseConfig } from '../src/config.ts';

describe('parseConfig', () => {
  it('applies the defaults and coerces numbers and booleans', () => {
    const config = parseConfig(baseConfigShape, {
      DATABASE_URL: 'postgres://u:p@h:5432/d',
      FAULT_INJECTION_ENABLED: 'false',
    });
    expect(config).toMatchObject({
      PORT: 8080,
      HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: 10_000,
    });
    expect(config.FAULT_INJECTION_ENABLED).toBe(false);
  });

  it('names every bad variable and what it should be', () => {
    let error: unknown;
    try {
      parseConfig({ ...baseConfigShape, INVENTORY_URL: z.url() }, { PORT: 'eighty', INVENTORY_URL: 'nope' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^PORT: /m);
    expect(problems).toMatch(/^DATABASE_URL: required: a PostgreSQL URL/m);
    expect(problems).toMatch(/^INVENTORY_URL: /m);
  });

  it('requires ADMIN_TOKEN when fault injection is enabled', () => {
    expect(() =>
      parseConfig(baseConfigShape, { DATABASE_URL: 'postgres://h/d', FAULT_INJECTION_ENABLED: 'true' }),
    ).toThrow('ADMIN_TOKEN: required when FAULT_INJECTION_ENABLED=true');
    const config = parseConfig(baseConfigShape, {
      DATABASE_URL: 'postgres://h/d',
      FAULT_INJECTION_ENABLED: 'true',
      ADMIN_TOKEN: 'secret-token-1',
    });
    expect(config.ADMIN_TOKEN).toBe('secret-token-1');
  });

  it('refuses an admin token shorter than 8 characters', () => {
    expect(() =>
      parseConfig(baseConfigShape, { DATABASE_URL: 'postgres://h/d', ADMIN_TOKEN: 'short' }),
    ).toThrow('ADMIN_TOKEN: expected at least 8 characters');
  });
});
