import type { IncomingMessage, ServerResponse } from 'node:http';
import fresh from 'fresh';
import type { Accepted } from '../accepts/accept-path';
import type { StatusView } from '../accepts/status';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Writes a JSON body that is already serialised, after whatever headers the edge set (request
 * id, security headers). The one writer of successful API responses, on whichever path served
 * the request. As Express's `res.send` did: a GET or HEAD whose client holds a fresh copy
 * (`If-None-Match: *`) gets 304 without a body, and HEAD gets the headers alone.
 */
export function writeJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  json: string,
): void {
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (read && status >= 200 && status < 300 && isFresh(req, res)) {
    res.writeHead(304);
    res.end();
    return;
  }
  res.setHeader('Content-Type', JSON_TYPE);
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.writeHead(status);
  res.end(req.method === 'HEAD' ? undefined : json);
}

/** Cheap for the usual request, which has neither conditional header. */
function isFresh(req: IncomingMessage, res: ServerResponse): boolean {
  const h = req.headers;
  if (h['if-none-match'] === undefined && h['if-modified-since'] === undefined) return false;
  return fresh(h, { 'last-modified': res.getHeader('last-modified') });
}

/** 202 with the status URL in the body and in Location; replays say so in a header. */
export function writeAccepted(
  req: IncomingMessage,
  res: ServerResponse,
  idField: string,
  accepted: Accepted,
  statusUrl: string,
): void {
  if (accepted.replayed) res.setHeader('Idempotent-Replayed', 'true');
  res.setHeader('Location', statusUrl);
  writeJson(
    req,
    res,
    202,
    JSON.stringify({ [idField]: accepted.id, status: 'PENDING', statusUrl }),
  );
}

/** A status read: never cached; until final, clients are asked to poll again in a second. */
export function writeStatus(req: IncomingMessage, res: ServerResponse, view: StatusView): void {
  res.setHeader('Cache-Control', 'no-store');
  if (!view.final) res.setHeader('Retry-After', '1');
  writeJson(req, res, 200, view.json);
}
