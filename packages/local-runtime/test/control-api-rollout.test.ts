// The control API's rollout routes: PATCH /deployments/:name and POST /deployments/:name/rollback,
// their validation and their answers (the controller's behaviour is rollout.integration.test.ts's).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import type { RolloutRequest, RuntimeInfo } from '@self-healing-shop/contracts';
import { ConflictError, createControlApi, type ControlTarget } from '../src/control-plane/control-api.ts';
import { EventLog } from '../src/control-plane/event-log.ts';

function target(extra: Partial<ControlTarget>): ControlTarget {
  return {
    events: new EventLog(),
    replicas: () => [],
    workloads: () => [],
    kill: () => false,
    restart: () => false,
    metrics: () => Promise.resolve(''),
    info: () => ({}) as RuntimeInfo,
    ...extra,
  };
}

async function serve(t: ControlTarget): Promise<{ url: string; close: () => Promise<void> }> {
  const { server } = createControlApi(t);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const json = (method: string, body: unknown): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

describe('control API rollouts', () => {
  const requests: Array<[string, RolloutRequest | 'undo']> = [];
  let api: { url: string; close: () => Promise<void> };
  let bare: { url: string; close: () => Promise<void> };

  beforeAll(async () => {
    api = await serve(
      target({
        rollout: (name, change) => {
          if (name !== 'order') return undefined;
          requests.push([name, change]);
          return { deployment: name, revision: 2, generation: 2, progressDeadlineSeconds: 600 };
        },
        undo: (name) => {
          if (name === 'inventory') throw new ConflictError('Deployment inventory has no previous revision');
          if (name !== 'order') return undefined;
          requests.push([name, 'undo']);
          return { deployment: name, revision: 3, generation: 3, progressDeadlineSeconds: 600 };
        },
      }),
    );
    bare = await serve(target({}));
  });
  afterAll(async () => {
    await api.close();
    await bare.close();
  });

  it('answers 202 with the new revision and hands the controller the variables and the deadline', async () => {
    const response = await fetch(
      `${api.url}/deployments/order`,
      json('PATCH', { env: { DATABASE_URL: 'postgres://x' }, progressDeadlineSeconds: 20 }),
    );
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({
      deployment: 'order',
      revision: 2,
      generation: 2,
      progressDeadlineSeconds: 600,
    });
    expect(requests.at(-1)).toEqual([
      'order',
      { env: { DATABASE_URL: 'postgres://x' }, progressDeadlineSeconds: 20 },
    ]);
  });

  it('refuses a bad variable name, a non-string value, a bad deadline and unknown fields with 400', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ env: { '1BAD': 'x' } }, /^env\.1BAD is not an environment variable name$/],
      [{ env: { GOOD: 5 } }, /env\.GOOD must be a string/],
      [{ progressDeadlineSeconds: 0 }, /progressDeadlineSeconds/],
      [{ image: 'x' }, /image|Unrecognized/i],
    ];
    for (const [body, detail] of cases) {
      const response = await fetch(`${api.url}/deployments/order`, json('PATCH', body));
      expect([response.status, ((await response.json()) as { detail: string }).detail]).toEqual([
        400,
        expect.stringMatching(detail),
      ]);
    }
  });

  it('answers 404 for an unknown Deployment and 409 for an undo without an earlier revision', async () => {
    const unknown = await fetch(`${api.url}/deployments/nope`, json('PATCH', { env: { A: 'b' } }));
    expect(unknown.status).toBe(404);
    const conflict = await fetch(`${api.url}/deployments/inventory/rollback`, { method: 'POST' });
    expect([conflict.status, ((await conflict.json()) as { detail: string }).detail]).toEqual([
      409,
      'Deployment inventory has no previous revision',
    ]);
    const undo = await fetch(`${api.url}/deployments/order/rollback`, { method: 'POST' });
    expect(undo.status).toBe(202);
    expect(requests.at(-1)).toEqual(['order', 'undo']);
  });

  it('answers 501 when the runtime has no rollouts, and 405 for another method', async () => {
    expect((await fetch(`${bare.url}/deployments/order`, json('PATCH', {}))).status).toBe(501);
    const get = await fetch(`${api.url}/deployments/order`);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'PATCH']);
  });
});
