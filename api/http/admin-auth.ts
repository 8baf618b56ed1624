import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../../shared/errors';

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Equal strings, compared in constant time (hashing first makes the lengths equal too). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function refuse(detail: string): AppError {
  return new AppError('UNAUTHENTICATED', {
    detail,
    headers: { 'WWW-Authenticate': 'Basic realm="shop admin", charset="UTF-8"' },
  });
}

/**
 * HTTP Basic auth for operator surfaces. Without a configured password every request is
 * refused: admin surfaces are closed unless someone opens them on purpose. Both the user and
 * the password are compared in constant time, and both always, so timing reveals neither.
 */
export function requireAdmin(admin: {
  user: string;
  password: string | undefined;
}): RequestHandler {
  return (req, _res, next) => {
    const password = admin.password;
    if (password === undefined) throw refuse('Admin access is disabled: ADMIN_PASSWORD is not set');
    const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(req.get('authorization') ?? '');
    const decoded = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    const user = colon >= 0 ? decoded.slice(0, colon) : '';
    const given = colon >= 0 ? decoded.slice(colon + 1) : '';
    const userOk = safeEqual(user, admin.user);
    const passwordOk = safeEqual(given, password);
    if (!(userOk && passwordOk)) throw refuse('Admin credentials required');
    next();
  };
}

/** The host of an Origin header; undefined for `null` or anything unparsable (= foreign). */
function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/**
 * Cross-site request protection for admin actions: a state-changing request must come from
 * this origin. Browsers send Sec-Fetch-Site (and Origin) on such requests; a foreign value
 * is refused. Non-browser clients (curl) send neither and are judged by Basic auth alone.
 */
export function sameOriginWrites(): RequestHandler {
  return (req, _res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') {
      next();
      return;
    }
    const site = req.get('sec-fetch-site');
    const origin = req.get('origin');
    const host = req.get('host');
    const foreignSite = site !== undefined && site !== 'same-origin' && site !== 'none';
    const foreignOrigin = origin !== undefined && hostOf(origin) !== host;
    // The same challenge as any 401 here: clients read every 401 of /admin the same way.
    if (foreignSite || foreignOrigin)
      throw refuse('Cross-site requests may not change anything here');
    next();
  };
}
