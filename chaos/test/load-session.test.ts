import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { startLoad } from '@self-healing-shop/loadgen';
import { LoadSession } from '../src/load.ts';

// An order in flight when a segment ends belongs to the segment it was sent in: the kill of an outage
// experiment waits for `settled()` so that no counted order is still running when its dependency dies.

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Answers 201 at once, except the requests it holds until `release()`. */
async function orderFront(hold: (n: number) => boolean) {
  const held: Array<() => void> = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    const answer = () => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: `o-${n}` }));
    };
    if (hold(++n)) held.push(answer);
    else answer();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get held() {
      return held.length;
    },
    release: () => held.splice(0).forEach((answer) => answer()),
  };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('LoadSession.settled', () => {
  it("resolves only once the ended segment's requests in flight have answered, and counts them there", async () => {
    const front = await orderFront((n) => n === 1);
    const session = new LoadSession(startLoad, {
      url: front.url,
      rate: 20,
      products: ['p-001'],
      trace: false,
    });
    void session.begin('baseline');
    await until(() => front.held === 1);
    void session.begin('outage', false);
    let settled = false;
    const waiting = session.settled().then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBe(false);
    front.release();
    await waiting;
    const segments = await session.end();
    const baseline = segments.find((s) => s.name === 'baseline')!;
    expect(baseline.report.succeeded).toBe(baseline.report.sent);
    expect(baseline.report.sent).toBeGreaterThanOrEqual(1);
    expect(segments.map((s) => s.name)).toEqual(['baseline', 'outage']);
  });
});
