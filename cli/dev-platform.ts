import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, verifySignature } from '../shared/order-events';
import { messageOf } from '../shared/infra-errors';

/**
 * `npm run dev:platform`: a stand-in for the data platform, for local use only. It verifies
 * each event's signature with DATA_PLATFORM_SECRET (the same config the workers read), logs
 * the event as one JSON line and answers 204; a bad signature gets 401.
 *
 * DEV_PLATFORM_PORT is read here, not in shared/config.ts: it configures this tool, not the
 * system (see {@link DevPlatformOptions}).
 */

const MAX_BODY_BYTES = 1_048_576;
/** Remembered event ids, to mark redeliveries; a dev tool's session never gets near this. */
const MAX_REMEMBERED = 100_000;

/** The receiver's own options. */
interface DevPlatformOptions {
  /** `DEV_PLATFORM_PORT`: the loopback port it listens on; 0 picks a free one. Default 4000. */
  port: number;
}

const optionsSchema = z.object({
  // Unset or empty: the default.
  port: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z.coerce.number().int().min(0).max(65_535).default(4000),
  ),
});

/**
 * Validates the receiver's variables, read in one place by the caller, into frozen options.
 * @throws Error naming the variable and its value when it is not a port number.
 */
function parseOptions(raw: { port: string | undefined }): Readonly<DevPlatformOptions> {
  const parsed = optionsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`DEV_PLATFORM_PORT: not a port number: ${raw.port ?? ''}`);
  }
  return Object.freeze(parsed.data);
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

function main(): void {
  const { port } = parseOptions({ port: process.env.DEV_PLATFORM_PORT });
  const config = loadConfig();
  const logger = createLogger({ level: 'info', service: 'dev-platform' });
  const secret = config.dataPlatform.secret;
  if (secret === undefined) throw new Error('DATA_PLATFORM_SECRET is required to verify events');
  const seen = new Set<string>();

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST' }).end();
      return;
    }
    readBody(req).then(
      (body) => {
        if (body === undefined) {
          res.writeHead(413).end();
          return;
        }
        const signature = req.headers[SIGNATURE_HEADER.toLowerCase()];
        const eventId = req.headers[EVENT_ID_HEADER.toLowerCase()];
        if (!verifySignature(secret, body, typeof signature === 'string' ? signature : undefined)) {
          logger.warn('bad signature: answered 401', { path: req.url, eventId });
          res.writeHead(401).end();
          return;
        }
        let event: unknown;
        try {
          event = JSON.parse(body.toString('utf8'));
        } catch {
          logger.warn('signed body is not JSON: answered 400', { path: req.url, eventId });
          res.writeHead(400).end();
          return;
        }
        const id = typeof eventId === 'string' ? eventId : '';
        const redelivery = seen.has(id);
        if (seen.size >= MAX_REMEMBERED) seen.clear();
        seen.add(id);
        logger.info('event received', { path: req.url, eventId: id, redelivery, event });
        res.writeHead(204).end();
      },
      () => {
        res.writeHead(400).end();
      },
    );
  });

  // Loopback only: it logs every event it gets, and it is a development tool.
  server.listen(port, '127.0.0.1', () => {
    const actual = (server.address() as AddressInfo).port;
    logger.info('dev platform listening', {
      port: actual,
      url: `http://127.0.0.1:${actual}/events`,
    });
  });
  const stop = () => {
    server.close();
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

try {
  main();
} catch (error) {
  console.error(messageOf(error));
  process.exit(1);
}
