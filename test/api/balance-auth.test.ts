import { SignJWT, type JWTPayload } from 'jose';
import { TEST_JWT_SECRET, useApiWorld } from '../harness/context';
import { insertUser } from '../harness/builders';
import { expectProblem, request } from '../harness/http';

const world = useApiWorld();

const secret = (value = TEST_JWT_SECRET) => new TextEncoder().encode(value);
const inOneHour = () => Math.floor(Date.now() / 1000) + 3_600;

/** A token as the API expects it, except for what `change` alters. */
async function token(
  change: {
    payload?: JWTPayload;
    alg?: string;
    key?: Uint8Array;
    sub?: string | null;
    exp?: number | null;
  } = {},
): Promise<string> {
  const jwt = new SignJWT(change.payload ?? {})
    .setProtectedHeader({ alg: change.alg ?? 'HS256', typ: 'JWT' })
    .setIssuedAt();
  if (change.sub !== null) jwt.setSubject(change.sub ?? '42');
  if (change.exp !== null) jwt.setExpirationTime(change.exp ?? inOneHour());
  return jwt.sign(change.key ?? secret());
}

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`) claiming to be user 42. */
const unsignedToken = (signature = '') =>
  `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: '42', exp: inOneHour() })}.${signature}`;

const getBalance = (authorization?: string) =>
  request(world.api.baseUrl, 'GET', '/api/balance', {
    headers: authorization === undefined ? {} : { authorization },
  });

describe('GET /api/balance', () => {
  it('When the user was never charged, then it answers balance 0 and updatedAt null', async () => {
    const response = await request(world.api.baseUrl, 'GET', '/api/balance', {
      token: await world.ctx.tokenFor(1001),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toEqual({ userId: 1001, balance: 0, updatedAt: null });
  });

  it('When the user has a balance row, then it answers the balance and its updatedAt in ISO UTC', async () => {
    const updatedAt = new Date('2026-01-02T03:04:05.678Z');
    await insertUser(world.ctx.sequelize, { id: 1002, balance: 25_000, updatedAt });
    const response = await request(world.api.baseUrl, 'GET', '/api/balance', {
      token: await world.ctx.tokenFor(1002),
    });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      userId: 1002,
      balance: 25_000,
      updatedAt: '2026-01-02T03:04:05.678Z',
    });
  });

  it('When two users have balances, then each sees only their own', async () => {
    await insertUser(world.ctx.sequelize, { id: 1003, balance: 700 });
    await insertUser(world.ctx.sequelize, { id: 1004, balance: 9_100 });
    const third = await request(world.api.baseUrl, 'GET', '/api/balance', {
      token: await world.ctx.tokenFor(1003),
    });
    const fourth = await request(world.api.baseUrl, 'GET', '/api/balance', {
      token: await world.ctx.tokenFor(1004),
    });
    expect(third.body).toEqual(expect.objectContaining({ userId: 1003, balance: 700 }));
    expect(fourth.body).toEqual(expect.objectContaining({ userId: 1004, balance: 9_100 }));
  });

  it('When the token subject is the largest safe integer, then that user is served', async () => {
    const response = await getBalance(`Bearer ${await token({ sub: '9007199254740991' })}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(
      expect.objectContaining({ userId: 9007199254740991, balance: 0 }),
    );
  });
});

describe('GET /api/balance without valid credentials', () => {
  const cases: [string, () => Promise<string | undefined>][] = [
    ['there is no Authorization header', () => Promise.resolve(undefined)],
    ['the scheme is Basic', () => Promise.resolve('Basic dXNlcjpwYXNz')],
    ['the header is a bare Bearer', () => Promise.resolve('Bearer')],
    ['the bearer token is garbage', () => Promise.resolve('Bearer garbage')],
    ['the JWT is malformed', () => Promise.resolve('Bearer aaa.bbb.ccc')],
    ['the JWT has an extra segment', async () => `Bearer ${await token()}.xyz`],
    [
      'the JWT is signed with another secret',
      async () =>
        `Bearer ${await token({ key: secret('another-secret-0123456789-0123456789-x') })}`,
    ],
    [
      'the JWT has expired',
      async () => `Bearer ${await token({ exp: Math.floor(Date.now() / 1000) - 60 })}`,
    ],
    ['the JWT has no exp', async () => `Bearer ${await token({ exp: null })}`],
    ['the JWT is unsigned (alg none)', () => Promise.resolve(`Bearer ${unsignedToken()}`)],
    [
      'the JWT says alg none but carries a signature',
      () => Promise.resolve(`Bearer ${unsignedToken('c2lnbmF0dXJl')}`),
    ],
    ['the JWT is HS512', async () => `Bearer ${await token({ alg: 'HS512' })}`],
    ['the JWT has no sub', async () => `Bearer ${await token({ sub: null })}`],
    ['sub is abc', async () => `Bearer ${await token({ sub: 'abc' })}`],
    ['sub is 0', async () => `Bearer ${await token({ sub: '0' })}`],
    ['sub is -5', async () => `Bearer ${await token({ sub: '-5' })}`],
    ['sub is 1.5', async () => `Bearer ${await token({ sub: '1.5' })}`],
    ['sub is an unsafe integer', async () => `Bearer ${await token({ sub: '9007199254740993' })}`],
    ['sub is 20 digits long', async () => `Bearer ${await token({ sub: '1'.repeat(20) })}`],
  ];

  it.each(cases)(
    'When %s, then it answers 401 UNAUTHENTICATED with WWW-Authenticate: Bearer',
    async (_, authorization) => {
      const response = await getBalance(await authorization());
      expectProblem(response, 401, 'UNAUTHENTICATED');
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    },
  );

  it('When a token is valid, then the same request is accepted (the cases above fail for their reason)', async () => {
    const response = await getBalance(`Bearer ${await token()}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual(expect.objectContaining({ userId: 42 }));
  });
});
