/** A tiny order endpoint for tests: POST /orders answers 201 (or what `respond` says). 127.0.0.1, port 0. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OrderEndpoint {
  url: string;
  received: () => number;
  close: () => Promise<void>;
}

export async function startOrderEndpoint(respond: () => number = () => 201): Promise<OrderEndpoint> {
  let received = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url?.startsWith('/orders')) {
        received += 1;
        const status = respond();
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id: `o-${received}`, status: 'confirmed' }));
        return;
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
