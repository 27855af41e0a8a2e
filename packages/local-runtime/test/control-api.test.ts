import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { createControlApi } from '../src/control-plane/control-api.ts';
import type { ReplicaView } from '@self-healing-shop/contracts';
import { ControlClient } from '../src/control-plane/control-client.ts';
import { EventLog } from '../src/control-plane/event-log.ts';
import { freePort } from '../src/networking/ports.ts';

const replica: ReplicaView = {
  name: 'order-abc-x1',
  service: 'order',
  kind: 'Deployment',
  uid: 'u1',
  pid: 123,
  port: 4000,
  phase: 'running',
  ready: true,
  restarts: 0,
  startedAt: '2026-01-01T00:00:00.000Z',
  readyAt: '2026-01-01T00:00:01.000Z',
  labels: { 'app.kubernetes.io/name': 'order', 'app.kubernetes.io/part-of': 'self-healing-shop' },
};

describe('control API', () => {
  const events = new EventLog();
  const kills: string[] = [];
  const restarts: string[] = [];
  const { server, closeStreams } = createControlApi({
    events,
    replicas: () => [replica],
    workloads: () => [
      {
        name: 'order',
        kind: 'Deployment',
        labels: { 'app.kubernetes.io/name': 'order' },
        replicas: 2,
        readyReplicas: 1,
        updatedReplicas: 2,
        availableReplicas: 1,
        generation: 1,
        observedGeneration: 1,
      },
    ],
    kill: (name, signal) => {
      kills.push(`${name}:${signal}`);
      return name === replica.name;
    },
    restart: (name) => {
      restarts.push(name);
      return name === 'order';
    },
    metrics: async () => 'kube_deployment_spec_replicas{namespace="shop",deployment="order"} 2\n',
    info: () => ({
      pid: 1,
      state: 'running',
      fronts: {},
      controlUrl: '',
      prometheusUrl: null,
      databaseUrl: null,
      consoleUrl: null,
      alertmanagerUrl: null,
    }),
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    closeStreams();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('lists replicas and workloads, with kind and labels', async () => {
    const client = new ControlClient(url);
    expect(await client.replicas()).toEqual([replica]);
    expect((await client.workloads())[0]).toMatchObject({
      name: 'order',
      kind: 'Deployment',
      labels: { 'app.kubernetes.io/name': 'order' },
      readyReplicas: 1,
      observedGeneration: 1,
    });
  });

  it('kills a replica with the signal asked for (SIGKILL by default) and 404s an unknown one', async () => {
    const response = await fetch(`${url}/replicas/${replica.name}/kill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ signal: 'SIGTERM' }),
    });
    expect(response.status).toBe(202);
    expect((await fetch(`${url}/replicas/${replica.name}/kill`, { method: 'POST' })).status).toBe(202);
    for (const signal of ['SIGSTOP', 'SIGCONT']) {
      const signalled = await fetch(`${url}/replicas/${replica.name}/kill`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ signal }),
      });
      expect(signalled.status).toBe(202);
    }
    expect(kills).toEqual([
      `${replica.name}:SIGTERM`,
      `${replica.name}:SIGKILL`,
      `${replica.name}:SIGSTOP`,
      `${replica.name}:SIGCONT`,
    ]);
    const missing = await fetch(`${url}/replicas/nope/kill`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });

  it('refuses a bad signal, a body that is not JSON and an unknown route with problem+json', async () => {
    const post = (body: string, type = 'application/json') =>
      fetch(`${url}/replicas/${replica.name}/kill`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      });
    const bad = await post('{"signal":"SIGHUP"}');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      status: 400,
      detail: 'signal must be one of "SIGKILL", "SIGTERM", "SIGSTOP", "SIGCONT"',
    });
    expect((await post('{nope')).status).toBe(400);
    expect((await post('[]')).status).toBe(400);
    expect((await post('x', 'text/plain')).status).toBe(415);
    expect((await fetch(`${url}/nothing`)).status).toBe(404);
    expect((await fetch(`${url}/replicas`, { method: 'DELETE' })).status).toBe(405);
    // `/deployments` was replaced by `/workloads`.
    expect((await fetch(`${url}/deployments`)).status).toBe(404);
  });

  it('restarts a workload and 404s an unknown one', async () => {
    expect((await fetch(`${url}/workloads/order/restart`, { method: 'POST' })).status).toBe(202);
    expect((await fetch(`${url}/workloads/nope/restart`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${url}/deployments/order/restart`, { method: 'POST' })).status).toBe(202);
    expect(restarts).toEqual(['order', 'nope', 'order']);
  });

  it('streams events as SSE and replays from Last-Event-ID or ?after=', async () => {
    for (const type of ['started', 'ready', 'killed'] as const)
      events.append({ type, service: 'order', replica: replica.name, uid: 'u1' });
    const client = new ControlClient(url);
    const abort = new AbortController();
    const seen: number[] = [];
    for await (const event of client.events({ after: 1, signal: abort.signal })) {
      seen.push(event.seq);
      expect(event.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      if (seen.length === 2)
        events.append({
          type: 'exited',
          service: 'order',
          replica: replica.name,
          uid: 'u1',
          reason: 'signal SIGKILL',
        });
      if (seen.length === 3) abort.abort();
    }
    expect(seen).toEqual([2, 3, 4]);

    const replay = new AbortController();
    const response = await fetch(`${url}/events`, {
      headers: { 'last-event-id': '3' },
      signal: replay.signal,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('\n\nid: 4') && !/id: 4\ndata: .*\n\n/.test(text))
      text += new TextDecoder().decode((await reader.read()).value);
    replay.abort();
    expect(text).not.toContain('id: 3\n');
    expect(text).toMatch(/id: 4\ndata: \{"seq":4,.*"type":"exited".*"reason":"signal SIGKILL"\}\n\n/);
    expect((await fetch(`${url}/events?after=x`)).status).toBe(400);

    // ?last=2: the two latest events (3 and 4), then the new ones.
    const recent = new AbortController();
    const tail = await fetch(`${url}/events?last=2`, { signal: recent.signal });
    const tailReader = tail.body!.getReader();
    let tailText = '';
    while (!/id: 4\ndata: .*\n\n/.test(tailText))
      tailText += new TextDecoder().decode((await tailReader.read()).value);
    recent.abort();
    expect([...tailText.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual([3, 4]);
    expect((await fetch(`${url}/events?last=-1`)).status).toBe(400);
  });

  it('stores chaos figures and exposes them after its own metrics', async () => {
    const put = (body: string, type = 'text/plain') =>
      fetch(`${url}/chaos/metrics`, { method: 'PUT', headers: { 'content-type': type }, body });
    const figures =
      '# TYPE chaos_mttr_seconds gauge\nchaos_mttr_seconds{experiment="pod-kill",quantile="0.5"} 1.9\nchaos_verdict{experiment="pod-kill"} 1';
    expect((await put(figures)).status).toBe(204);
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toBe(`kube_deployment_spec_replicas{namespace="shop",deployment="order"} 2\n${figures}\n`);
    expect((await put('{"a":1}', 'application/json')).status).toBe(415);
    expect((await put('this is not a metric')).status).toBe(400);
    expect((await put('kube_deployment_spec_replicas 3')).status).toBe(400);
    expect((await put(`# ${'x'.repeat(300 * 1024)}`)).status).toBe(413);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('chaos_verdict{experiment="pod-kill"} 1');
  });

  it('tells a client when nothing runs there', async () => {
    const client = new ControlClient(`http://127.0.0.1:${await freePort()}`);
    await expect(client.replicas()).rejects.toThrow('the local runtime is not running');
  });
});
