import { describe, expect, it } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { Counter, Registry } from 'prom-client';
import { TRACING_ENV } from '@self-healing-shop/contracts';
import { ConfigError } from '../src/config.ts';
import { metricsEndpoint, prefersOpenMetrics } from '../src/metrics-endpoint.ts';
import {
  DEFAULT_BATCH_DELAY_MS,
  DEFAULT_SAMPLE_RATIO,
  tracingConfig,
} from '../src/tracing/tracing-config.ts';
import { linkToTraceparent } from '../src/tracing/trace-context.ts';

describe('tracingConfig', () => {
  it('is off without an endpoint, and with OTEL_TRACES_EXPORTER=none', () => {
    expect(tracingConfig('order', {})).toBeUndefined();
    expect(tracingConfig('order', { [TRACING_ENV.endpoint]: '' })).toBeUndefined();
    expect(
      tracingConfig('order', {
        [TRACING_ENV.endpoint]: 'http://127.0.0.1:7070',
        [TRACING_ENV.exporter]: 'none',
      }),
    ).toBeUndefined();
  });

  it('defaults to parent-based trace-id ratio sampling at the measured ratio, named after the service', () => {
    expect(
      tracingConfig('order', { [TRACING_ENV.endpoint]: 'http://127.0.0.1:7070/', POD_NAME: 'order-1' }),
    ).toEqual({
      endpoint: 'http://127.0.0.1:7070',
      serviceName: 'order',
      instanceId: 'order-1',
      sampler: 'parentbased_traceidratio',
      ratio: DEFAULT_SAMPLE_RATIO,
      batchDelayMs: DEFAULT_BATCH_DELAY_MS,
    });
    expect(DEFAULT_SAMPLE_RATIO).toBe(0.01);
  });

  it('reads the standard variables', () => {
    expect(
      tracingConfig('order', {
        [TRACING_ENV.endpoint]: 'http://collector:4318',
        [TRACING_ENV.serviceName]: 'order-canary',
        [TRACING_ENV.sampler]: 'always_on',
        [TRACING_ENV.samplerArg]: '0.5',
        [TRACING_ENV.batchDelay]: '200',
        POD_NAME: 'order-7d9f-abcde',
      }),
    ).toEqual({
      endpoint: 'http://collector:4318',
      serviceName: 'order-canary',
      instanceId: 'order-7d9f-abcde',
      sampler: 'always_on',
      ratio: 0.5,
      batchDelayMs: 200,
    });
  });

  it('names every bad variable and what it should be', () => {
    let error: unknown;
    try {
      tracingConfig('order', {
        [TRACING_ENV.endpoint]: 'collector:4318',
        [TRACING_ENV.sampler]: 'sometimes',
        [TRACING_ENV.samplerArg]: '2',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/^OTEL_EXPORTER_OTLP_ENDPOINT: expected an http\(s\) URL/m);
    expect(problems).toMatch(/^OTEL_TRACES_SAMPLER: expected one of always_on, /m);
    expect(problems).toMatch(/^OTEL_TRACES_SAMPLER_ARG: expected a ratio between 0 and 1/m);
  });
});

describe('linkToTraceparent', () => {
  it('is undefined for a missing or malformed traceparent (tracing off: no propagator either)', () => {
    expect(linkToTraceparent(null)).toBeUndefined();
    expect(linkToTraceparent('not-a-traceparent')).toBeUndefined();
  });
});

describe('GET /metrics', () => {
  function app() {
    const registry = new Registry();
    new Counter({ name: 'orders_total', help: 'Orders', registers: [registry] }).inc(3);
    return express().get('/metrics', metricsEndpoint(registry));
  }

  it('ranks the formats of an Accept header as Prometheus does', () => {
    expect(prefersOpenMetrics(undefined)).toBe(false);
    expect(prefersOpenMetrics('*/*')).toBe(false);
    expect(prefersOpenMetrics('text/plain;version=0.0.4')).toBe(false);
    expect(
      prefersOpenMetrics(
        'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      ),
    ).toBe(true);
    expect(prefersOpenMetrics('text/plain;q=1,application/openmetrics-text;q=0.5')).toBe(false);
  });

  it('serves the Prometheus text by default and OpenMetrics on request, without renaming counters', async () => {
    const server = app();
    const open = await request(server).get('/metrics').set('accept', 'application/openmetrics-text');
    expect(open.headers['content-type']).toMatch(/^application\/openmetrics-text; version=1.0.0/);
    expect(open.text).toContain('# TYPE orders counter\norders_total 3');
    expect(open.text.trimEnd().endsWith('# EOF')).toBe(true);

    const plain = await request(server).get('/metrics');
    expect(plain.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    expect(plain.text).toContain('# TYPE orders_total counter\norders_total 3');
    expect(plain.text).not.toContain('# EOF');
  });
});
