import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';

/**
 * The baselines' servers, run as child processes by the benchmark (`node dist/load/bench/servers.js
 * bare|express`) so they get a core of their own like the API does. Both serve the same product
 * JSON the API serves, prepared once.
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
} else if (kind === 'express') {
  const app = express();
  app.get('/api/products/:productId', (_req, res) => {
    res.type('application/json').send(product);
  });
  const server = app.listen(0, '127.0.0.1', () => {
    announce(server);
  });
} else {
  process.stderr.write('usage: servers.js bare|express\n');
  process.exit(2);
}
