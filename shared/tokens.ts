import { SignJWT } from 'jose';

/** Signs a user token as the API expects it: HS256, `sub` = user id, `exp` required. */
export async function signUserToken(
  secret: string,
  userId: number | string,
  expiresIn: string | number = '12h',
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(String(userId))
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
