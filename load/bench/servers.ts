import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { API_HEADERS, securityHeaders } from '../../api/http/security-headers';

/**
 * The baselines' servers, run as child processes by the benchmark (`node
 * dist/load/bench/servers.js bare|bare-headers|bare-accept|express`) so they get a core of
 * their own like the API does. All but `bare-accept` serve the same product JSON the API
 * serves, prepared once. `bare-headers` sends what the API's edge sends with it (helmet's
 * headers, a fresh X-Request-Id, Content-Length) and nothing more: how much of the API's cost
 * over bare node:http is the headers alone. `bare-accept` is an accept's HTTP exchange and
 * nothing else: it reads and parses the order's JSON body and answers the API's 202 (a new
 * UUID as the id, its Location, body and headers) without checking the token or the body and
 * without Redis: how much of the accept's cost is node:http's.
 */
const product = JSON.stringify({
  id: 1,
  name: 'Mechanical Keyboard',
  description: 'Hot-swappable 87-key keyboard with brown switches.',
  price: 129000,
  stock: 120,
  updatedAt: new Date().toISOString(),
});

function announce(server: http.Server): void {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ message: 'listening', port })}\n`);
}

const kind = process.argv[2];
if (kind === 'bare') {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(product);
  });
  server.listen(0, '127.0.0.1', () => {
    announce(server);
  });
} else if (kind === 'bare-headers') {
  const fixed = [...securityHeaders(API_HEADERS)].flat();
  const length = String(Buffer.byteLength(product));
  const server = http.createServer((_req, res) => {
    res
      .writeHead(200, [
        'X-Request-Id',
        randomUUID(),
        ...fixed,
        'Content-Type',
        'application/json; charset=utf-8',
        'Content-Length',
        length,
      ])
      .end(product);
  });
  server.listen(0, '127.0.0.1', () => {
    announce(server);
  });
} else if (kind === 'bare-accept') {
  const fixed = [...securityHeaders(API_HEADERS)].flat();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const orderId = randomUUID();
      const statusUrl = `/api/orders/${orderId}`;
      const body = JSON.stringify({ orderId, status: 'PENDING', statusUrl });
      res
        .writeHead(202, [
          'X-Request-Id',
          randomUUID(),
          ...fixed,
          'Location',
          statusUrl,
          'Content-Type',
          'application/json; charset=utf-8',
          'Content-Length',
          String(Buffer.byteLength(body)),
        ])
        .end(body);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    announce(server);
  });
} else if (kind === 'express') {
  const app = express();
  app.get('/api/products/:productId', (_req, res) => {
    res.type('application/json').send(product);
  });
  const server = app.listen(0, '127.0.0.1', () => {
    announce(server);
  });
} else {
  process.stderr.write('usage: servers.js bare|bare-headers|bare-accept|express\n');
  process.exit(2);
}
