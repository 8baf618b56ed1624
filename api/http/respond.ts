import type { IncomingMessage, ServerResponse } from 'node:http';
import fresh from 'fresh';
import type { Accepted } from '../accepts/accept-path';
import type { StatusView } from '../accepts/status';
import { writeHeadWith } from './edge';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Writes a body that is already serialised, with the edge's headers and `extra` (a flat name,
 * value list) in one `writeHead`. The one writer of API responses, problems included, on
 * whichever door served the request. As Express's `res.send` did: a GET or HEAD whose client
 * holds a fresh copy (`If-None-Match: *`) gets 304 without a body, and HEAD gets the headers
 * alone.
 */
export function writeBody(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: readonly string[] = [],
): void {
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (read && status >= 200 && status < 300 && isFresh(req, res)) {
    writeHeadWith(res, 304, [...extra]);
    res.end();
    return;
  }
  writeHeadWith(res, status, [
    ...extra,
    'Content-Type',
    type,
    'Content-Length',
    String(Buffer.byteLength(body)),
  ]);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** {@link writeBody} for JSON. */
export function writeJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  json: string,
  extra: readonly string[] = [],
): void {
  writeBody(req, res, status, JSON_TYPE, json, extra);
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
  const json = JSON.stringify({ [idField]: accepted.id, status: 'PENDING', statusUrl });
  const extra = accepted.replayed ? ['Idempotent-Replayed', 'true'] : [];
  extra.push('Location', statusUrl);
  writeJson(req, res, 202, json, extra);
}

/** A status read: never cached; until final, clients are asked to poll again in a second. */
export function writeStatus(req: IncomingMessage, res: ServerResponse, view: StatusView): void {
  const extra = ['Cache-Control', 'no-store'];
  if (!view.final) extra.push('Retry-After', '1');
  writeJson(req, res, 200, view.json, extra);
}
