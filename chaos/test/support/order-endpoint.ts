/**
 * A tiny order front for tests, on 127.0.0.1 port 0: `POST /orders` places the order in the shop
 * double (shop.ts) and answers as it says (201 with an id `o-N`, 409 when it cannot be reserved, 400
 * for a bad body); `GET /orders/:id` reads one back; `GET /products` lists the shop's products, so the
 * load generator orders those.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Shop, ShopAnswer } from './shop.ts';

export interface OrderEndpoint {
  url: string;
  /** `POST /orders` requests received. */
  received: () => number;
  close: () => Promise<void>;
}

function parse(text: string): ShopAnswer | { body: unknown } {
  try {
    return { body: JSON.parse(text) as unknown };
  } catch (error) {
    const detail = `the body is not JSON: ${(error as Error).message}`;
    return { status: 400, body: { type: 'about:blank', title: 'Bad Request', status: 400, detail } };
  }
}

export async function startOrderEndpoint(shop: Shop): Promise<OrderEndpoint> {
  let received = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const send = ({ status, body }: ShopAnswer): void => {
        const type = status < 400 ? 'application/json' : 'application/problem+json';
        res.writeHead(status, { 'content-type': type }).end(JSON.stringify(body));
      };
      const path = new URL(req.url ?? '/', 'http://front').pathname;
      if (req.method === 'POST' && path === '/orders') {
        received += 1;
        const request = parse(Buffer.concat(chunks).toString());
        return send('status' in request ? request : shop.placeOrder(request.body));
      }
      if (req.method === 'GET' && path === '/products') return send(shop.products());
      const order = /^\/orders\/([^/]+)$/.exec(path);
      if (req.method === 'GET' && order) return send(shop.getOrder(decodeURIComponent(order[1]!)));
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
