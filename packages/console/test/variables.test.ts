// Interpolation as Grafana's Prometheus data source documents it: single values escaped for a string
// literal, multi-value and include-All variables as a regex alternation of regex-escaped values, All
// as the custom all value when one is set.
import { describe, expect, it } from '@jest/globals';
import { ALL, formatVariable, interpolate, parseLabelValuesQuery } from '../src/shared/variables.ts';

const service = (values: string[]) => ({
  values,
  multi: true,
  includeAll: true,
  allValue: '.*',
  options: ['inventory', 'notification', 'order'],
});

describe('template variables', () => {
  it('replaces $var, ${var} and [[var]]', () => {
    const vars = { service: { values: ['order'], multi: false, includeAll: false } };
    expect(interpolate('a{service="$service"} b{s="${service}"} c{s="[[service]]"}', vars)).toBe(
      'a{service="order"} b{s="order"} c{s="order"}',
    );
  });

  it('uses the all value (.*) verbatim when All is selected', () => {
    expect(interpolate('x{service=~"$service"}', { service: service([ALL]) })).toBe('x{service=~".*"}');
  });

  it('joins several selected values as an escaped alternation', () => {
    expect(formatVariable(service(['order', 'inventory']))).toBe('(order|inventory)');
    expect(formatVariable(service(['a.b', 'c']))).toBe('(a\\\\.b|c)');
  });

  it('lists every option for All when there is no all value', () => {
    expect(formatVariable({ ...service([ALL]), allValue: null })).toBe('(inventory|notification|order)');
  });

  it('replaces built-ins such as $__rate_interval and $__range', () => {
    const expr = 'rate(x[$__rate_interval]) / increase(y[$__range])';
    expect(interpolate(expr, {}, { __rate_interval: '20s', __range: '1800s' })).toBe(
      'rate(x[20s]) / increase(y[1800s])',
    );
  });

  it('leaves an unknown variable as written', () => {
    expect(interpolate('up{job="$job"}', {})).toBe('up{job="$job"}');
  });

  it('reads label_values queries with and without a metric', () => {
    expect(
      parseLabelValuesQuery('label_values(http_server_request_duration_seconds_count, service)'),
    ).toEqual({
      metric: 'http_server_request_duration_seconds_count',
      label: 'service',
    });
    expect(parseLabelValuesQuery('label_values(service)')).toEqual({ label: 'service' });
    expect(() => parseLabelValuesQuery('query_result(up)')).toThrow('unsupported variable query');
  });
});
