import type { RequestHandler, Response } from 'express';
import { errors as joseErrors, jwtVerify } from 'jose';
import { AppError } from '../../shared/errors';

const USER_ID = /^[1-9][0-9]{0,15}$/;

function unauthenticated(detail: string, error = 'invalid_token'): AppError {
  return new AppError('UNAUTHENTICATED', {
    detail,
    headers: { 'WWW-Authenticate': `Bearer error="${error}"` },
  });
}

const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i;

export interface UserAuth {
  /**
   * Bearer JWT (HS256, `sub` = user id as a decimal string, `exp` required). The user id lands
   * in `res.locals.userId`; read it with {@link userIdOf}.
   */
  requireUser: RequestHandler;
  /** The user of an Authorization header, its token verified (once: the result is kept). */
  verify(header: string | undefined): Promise<number>;
  /** {@link verify}, answering undefined instead of throwing 401. */
  userOf(header: string | undefined): Promise<number | undefined>;
}

export function createUserAuth(jwtSecret: string): UserAuth {
  const key = new TextEncoder().encode(jwtSecret);
  // Authorization headers already verified, with their token's expiry: a client polls with the
  // same token many times, and the signature check is the costliest step of an accept. Only
  // successes are kept; a header found here skips the Bearer pattern too.
  const verified = new Map<string, { userId: number; expiresAt: number }>();

  /** The user of an Authorization header; throws 401 UNAUTHENTICATED. */
  async function verify(header: string | undefined): Promise<number> {
    if (header === undefined) {
      throw new AppError('UNAUTHENTICATED', {
        detail: 'Send Authorization: Bearer <token>',
        headers: { 'WWW-Authenticate': 'Bearer' },
      });
    }
    const known = verified.get(header);
    if (known && known.expiresAt > Date.now()) return known.userId;
    const match = BEARER.exec(header);
    if (!match?.[1]) throw unauthenticated('The Authorization header is not a Bearer JWT');
    const token = match[1];
    let sub: unknown;
    let exp: unknown;
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
      });
      sub = payload.sub;
      exp = payload.exp;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw unauthenticated('The token has expired');
      throw unauthenticated('The token is invalid');
    }
    if (typeof sub !== 'string' || !USER_ID.test(sub) || !Number.isSafeInteger(Number(sub))) {
      throw unauthenticated('The token subject is not a user id');
    }
    if (typeof exp === 'number') {
      if (verified.size >= VERIFIED_TOKENS_KEPT) verified.clear();
      verified.set(header, { userId: Number(sub), expiresAt: exp * 1_000 });
    }
    return Number(sub);
  }

  const requireUser: RequestHandler = async (req, res, next) => {
    res.locals.userId = await verify(req.get('authorization'));
    next();
  };

  const userOf = (header: string | undefined) => verify(header).catch(() => undefined);

  return { requireUser, verify, userOf };
}

/** Bounds the verified-token memo; clearing it all at once is simpler than an LRU and rare. */
const VERIFIED_TOKENS_KEPT = 50_000;

export function userIdOf(res: Response): number {
  const id: unknown = res.locals.userId;
  if (typeof id !== 'number') throw new Error('requireUser must run before this handler');
  return id;
}
