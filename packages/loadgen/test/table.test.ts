import { describe, expect, it } from '@jest/globals';
import { table } from '../src/index.ts';

describe('table', () => {
  const rows = [
    ['order', '2/2', 'yes'],
    ['notification', '1/2', ''],
  ];

  it('pads every column to its widest cell, three spaces apart, like kubectl', () => {
    expect(table(['WORKLOAD', 'READY', 'PROTECTED'], rows).split('\n')).toEqual([
      'WORKLOAD       READY   PROTECTED',
      'order          2/2     yes',
      'notification   1/2',
    ]);
  });

  it('draws a dashed rule under the header when asked, with the gap asked for', () => {
    expect(table(['workload', 'ready'], [['order', '2/2']], { gap: 2, rule: true }).split('\n')).toEqual([
      'workload  ready',
      '--------  -----',
      'order     2/2',
    ]);
  });
});
