import express, { type RequestHandler } from 'express';
import { AppError } from '../../shared/errors';

export const BODY_LIMIT_BYTES = 16 * 1024;

function hasBody(headers: { 'content-length'?: string; 'transfer-encoding'?: string }): boolean {
  return (
    headers['transfer-encoding'] !== undefined ||
    (headers['content-length'] !== undefined && headers['content-length'] !== '0')
  );
}

/**
 * JSON-only bodies up to 16 KiB. A POST (or PUT/PATCH) whose body is not application/json
 * gets 415 before anything reads it; oversized or broken bodies become 413 / 400 INVALID_JSON
 * in the error handler.
 */
export function jsonBody(): RequestHandler[] {
  const parseJson = express.json({
    limit: BODY_LIMIT_BYTES,
    strict: false,
    type: ['application/json', 'application/*+json'],
  });
  const requireJson: RequestHandler = (req, _res, next) => {
    const writes = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH';
    if (writes && (hasBody(req.headers) || req.get('content-type') !== undefined)) {
      if (!req.is(['application/json', 'application/*+json'])) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', {
          detail: `Content-Type must be application/json, not ${req.get('content-type') ?? 'missing'}`,
        });
      }
    }
    next();
  };
  return [requireJson, parseJson];
}
