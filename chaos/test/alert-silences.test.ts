// Silences for the expected alerts (alerts/silences.ts): what happens when none can be made. The
// whole `run` path with a real Alertmanager (silence active during the fault, expired after, also on
// interrupt) is in alerts-run.test.ts.
import { describe, expect, it } from '@jest/globals';
import { httpSilenceApi, silenceExpected } from '../src/alerts/silences.ts';
import { freePort } from './support/alertmanager.ts';

describe('silences of the expected alerts', () => {
  it('records why nothing was silenced when Alertmanager cannot be reached, and the run goes on', async () => {
    const closed = await freePort();
    const lines: string[] = [];
    const handle = await silenceExpected(
      { expected: ['ServiceDegraded'], silent: [], within: 1_000 },
      {
        api: () => Promise.resolve(httpSilenceApi(`http://127.0.0.1:${closed}`)),
        run: 'test',
        maxMs: 60_000,
        now: Date.now,
        log: (_type, message) => lines.push(message),
      },
    );
    expect(handle.result.silences).toEqual([]);
    expect(handle.result.notCreated).toContain(`Alertmanager at http://127.0.0.1:${closed} is not reachable`);
    await handle.expire();
    expect(lines.join('\n')).toContain('expected alerts not silenced');
  });
});
