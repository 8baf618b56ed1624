import type { IncomingMessage } from 'node:http';
import { parse as parseContentType } from 'content-type';
import type { RequestHandler } from 'express';
import { AppError } from '../../shared/errors';

export const BODY_LIMIT_BYTES = 16 * 1024;

/** Whether the request carries a body: a length above zero, or a chunked one. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const unsupported = (detail: string) => new AppError('UNSUPPORTED_MEDIA_TYPE', { detail });

/**
 * Why a body of this Content-Type and Content-Encoding is refused (415), or undefined when it
 * is JSON this API reads: `application/json` or `application/*+json`, UTF-8 (the default),
 * without content encoding.
 */
function refusal(req: IncomingMessage): AppError | undefined {
  const header = req.headers['content-type'];
  // What nearly every client sends, accepted without parsing it.
  if (header === 'application/json' && req.headers['content-encoding'] === undefined) {
    return undefined;
  }
  let media: { type: string; charset: string | undefined } | undefined;
  try {
    const parsed = header === undefined ? undefined : parseContentType(header);
    if (parsed) media = { type: parsed.type.toLowerCase(), charset: parsed.parameters.charset };
  } catch {
    media = undefined;
  }
  const json =
    media !== undefined &&
    (media.type === 'application/json' ||
      (media.type.startsWith('application/') && media.type.endsWith('+json')));
  if (!json) {
    return unsupported(`Content-Type must be application/json, not ${header ?? 'missing'}`);
  }
  const charset = media?.charset?.toLowerCase();
  const encoding = req.headers['content-encoding']?.toLowerCase();
  if (
    (charset !== undefined && charset !== 'utf-8') ||
    (encoding !== undefined && encoding !== 'identity')
  ) {
    return unsupported('The body must be UTF-8 application/json without content encoding');
  }
  return undefined;
}

/**
 * The body of a write (POST, PUT, PATCH), read once whole. A write that sends a body or names a
 * Content-Type must be UTF-8 JSON (415, before anything is read); the body is at most
 * {@link BODY_LIMIT_BYTES} (413, checked from Content-Length before reading and again while
 * reading a chunked body) and parses as any JSON value (400 INVALID_JSON). A leading
 * byte-order mark is dropped; an empty JSON body is `{}`; no body and no Content-Type is
 * `undefined`. Every path that serves a write reads its body here.
 */
export function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const body = hasBody(req);
  if (!body && req.headers['content-type'] === undefined) return Promise.resolve(undefined);
  const refused = refusal(req);
  if (refused) return Promise.reject(refused);
  if (!body) return Promise.resolve({});
  if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT_BYTES) {
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      length += chunk.length;
      if (length > BODY_LIMIT_BYTES) {
        failed = true;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    // A client that goes away mid-body: nothing to answer, and nothing may crash.
    req.on('error', (error) => {
      if (failed) return;
      failed = true;
      reject(
        new AppError('VALIDATION_FAILED', {
          detail: 'The body could not be read',
          errors: [],
          cause: error,
        }),
      );
    });
    req.on('end', () => {
      if (failed) return;
      const buffer = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      let text = buffer.toString('utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text === '') {
        resolve({});
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new AppError('INVALID_JSON'));
      }
    });
  });
}

const tooLarge = () =>
  new AppError('PAYLOAD_TOO_LARGE', { detail: 'The request body is over 16 KiB' });

/** Express middleware over {@link readJsonBody}: a write's body lands in `req.body`. */
export function jsonBody(): RequestHandler {
  return async (req, _res, next) => {
    if (req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH') {
      req.body = await readJsonBody(req);
    }
    next();
  };
}
