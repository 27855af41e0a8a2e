import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { httpProbe, ProbeState } from '../src/supervision/probe.ts';

describe('ProbeState', () => {
  it('turns ready only after successThreshold successes in a row', () => {
    const state = new ProbeState({ successThreshold: 2, failureThreshold: 3 }, 'failure');
    expect(state.record(true)).toBe(false);
    expect(state.record(false)).toBe(false);
    expect(state.record(true)).toBe(false);
    expect(state.record(true)).toBe(true);
    expect(state.status).toBe('success');
  });

  it('fails after failureThreshold failures in a row, a success in between resets the count', () => {
    const state = new ProbeState({ successThreshold: 1, failureThreshold: 3 }, 'success');
    state.record(false);
    state.record(false);
    state.record(true);
    state.record(false);
    expect(state.record(false)).toBe(false);
    expect(state.consecutiveFailures).toBe(2);
    expect(state.record(false)).toBe(true);
    expect(state.status).toBe('failure');
  });

  it('reports a change once, not on every further failure', () => {
    const state = new ProbeState({ successThreshold: 1, failureThreshold: 1 }, 'unknown');
    expect(state.record(false)).toBe(true);
    expect(state.record(false)).toBe(false);
  });
});

describe('httpProbe', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((request, response) => {
      if (request.url === '/ok') response.writeHead(204).end();
      else if (request.url === '/redirect') response.writeHead(302, { location: '/ok' }).end();
      else if (request.url === '/hang')
        return; // never answers
      else response.writeHead(503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('passes on 2xx and 3xx, fails on 5xx', async () => {
    expect(await httpProbe(port, { path: '/ok', headers: {}, timeoutMs: 1000 })).toBe(true);
    expect(await httpProbe(port, { path: '/redirect', headers: {}, timeoutMs: 1000 })).toBe(true);
    expect(await httpProbe(port, { path: '/ready', headers: {}, timeoutMs: 1000 })).toBe(false);
  });

  it('fails when nothing answers within the timeout (the server never does), or the connection fails', async () => {
    expect(await httpProbe(port, { path: '/hang', headers: {}, timeoutMs: 150 })).toBe(false);
    // A port this test holds, whose connections are closed at once: no answer can come.
    const closing = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => closing.listen(0, '127.0.0.1', resolve));
    try {
      const closed = (closing.address() as AddressInfo).port;
      expect(await httpProbe(closed, { path: '/ok', headers: {}, timeoutMs: 1000 })).toBe(false);
    } finally {
      await new Promise((resolve) => closing.close(resolve));
    }
  });
});
