/**
 * Generators of hostile input: strings, numbers and JSON fragments that have broken parsers,
 * queries and scripts elsewhere; header values, tokens, paths and query strings built from them.
 * Request bodies and their validity oracles are in `bodies.ts`.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';

/** The largest charge amount; "too large" numbers start above it. */
const MAX_AMOUNT = 10_000_000;

export const INJECTIONS = [
  '1 OR 1=1',
  "1' OR '1'='1",
  '1; DROP TABLE orders; --',
  '" OR ""="',
  '1 UNION SELECT id, balance FROM users',
  "' AND SLEEP(5) --",
  '%27%20OR%201%3D1',
  "redis.call('FLUSHALL')",
  "'); redis.call('DEL', KEYS[1]) --",
  ']] .. redis.call("KEYS", "*") .. [[',
  "\nreturn redis.call('FLUSHDB')",
  '\r\nSet-Cookie: pwned=1',
  '%0d%0aX-Injected:%201',
  'a\r\n\r\nHTTP/1.1 200 OK',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%2e%2e%2f%2e%2e%2f',
  '....//....//',
  '..\\..\\windows\\win.ini',
  '/etc/passwd%00.json',
  '__proto__',
  'constructor',
  'prototype',
  '{"__proto__":{"isAdmin":true}}',
  'constructor[prototype][polluted]=1',
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '%s%s%s%n',
  '{"$gt":""}',
];

export const NANISH = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '0x10',
  '0b1',
  '1_000',
  '+1',
  '-1',
  '-0',
  '0',
  '00',
  '1.0',
  '1e2',
  '1.5',
  ' 1',
  '1 ',
  '١٢',
  '１',
  'null',
  'undefined',
  'true',
  '',
  '9007199254740992',
  '99999999999999999999',
];

export const ODD_UNICODE = [
  '\u0000',
  '\uD800',
  '\uDFFF',
  '\u202E',
  '\u200F',
  '\u200B',
  '\u200D',
  '\uFEFF',
  '\u2028',
  '\u0085',
  '😀',
  '👨‍👩‍👧',
  'e\u0301',
  '\uFFFF',
  '\u{10FFFF}',
  'İ',
];

const pieces = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.constantFrom(...NANISH),
  fc.constantFrom(...ODD_UNICODE),
);

export const hostileString: fc.Arbitrary<string> = fc.oneof(
  pieces,
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.array(fc.oneof(pieces, fc.string({ maxLength: 4 })), { maxLength: 5 }).map((p) => p.join('')),
);

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: 0 }),
  fc.integer({ min: MAX_AMOUNT + 1, max: Number.MAX_SAFE_INTEGER }),
  fc.double().filter((n) => !Number.isInteger(n)),
  fc.constantFrom(2 ** 53, 2 ** 53 + 2, 2 ** 64, -(2 ** 53), 1e308, Number.MIN_VALUE, 0.5, 99.99),
);

/** JSON number texts that no JavaScript number round-trips to: overflow, underflow, precision. */
const RAW_NUMBERS = ['1e400', '-1e400', '1e-400', '123456789012345678901234567890', '10000000.5'];

/** A JSON text nested `depth` levels deep, small enough to pass the body limit. */
const deepText = fc
  .tuple(fc.integer({ min: 100, max: 2_500 }), fc.constantFrom('[]', '{}', '1', '"x"'))
  .chain(([depth, core]) =>
    fc.constantFrom(
      '['.repeat(depth) + core + ']'.repeat(depth),
      '{"a":'.repeat(depth) + core + '}'.repeat(depth),
    ),
  );

/** Any JSON text a client could send as a value: wrong types, odd numbers, deep nesting. */
export const hostileValueText: fc.Arbitrary<string> = fc.oneof(
  hostileNumber.map((n) => JSON.stringify(n)),
  hostileString.map((s) => JSON.stringify(s)),
  fc.constantFrom('null', 'true', 'false', '{}', '[]', ...RAW_NUMBERS),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  deepText,
);

export const hostileKeyName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'Amount', 'amount ', 'amount\u0000'),
  fc.constantFrom('amount\u200B', 'ａｍｏｕｎｔ', 'amоunt', 'items', 'userId', 'status', ''),
  hostileString,
);

/** An object's JSON text from entries, so keys like `__proto__` survive as written. */
export const objectText = (entries: readonly (readonly [string, string])[]): string =>
  `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;

export const extraEntries = fc.array(fc.tuple(hostileKeyName, hostileValueText), {
  minLength: 1,
  maxLength: 3,
});

/**
 * What a conforming HTTP client can put in a header: the UTF-8 bytes as latin1 characters,
 * without control characters (those are tested below the client, on a raw socket).
 */
export const headerSafe = (value: string): string =>
  Buffer.from(value, 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '');

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const visibleAscii = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));

/** Keys the contract accepts, including ones full of quotes, braces and Lua. */
export const validKey = fc.oneof(
  fc.string({ unit: visibleAscii, minLength: 1, maxLength: 64 }),
  fc.constantFrom(...INJECTIONS).map((s) => s.replace(/[^\x21-\x7e]/g, '') || 'k'),
);

/**
 * Idempotency-Key values the contract rejects, as sent (an array sends the header twice, which
 * the server reads as `a, b`). HTTP strips surrounding whitespace, so the check is on the trim.
 */
export const invalidKey: fc.Arbitrary<string | string[] | undefined> = fc
  .oneof(
    fc.constantFrom<string | string[] | undefined>(undefined, '', ' ', '\t', '  \t '),
    fc.string({ unit: visibleAscii, minLength: 256, maxLength: 400 }),
    fc
      .tuple(validKey, fc.constantFrom(' ', '\t', '  '), validKey)
      .map(([a, gap, b]) => a + gap + b),
    fc
      .tuple(validKey, fc.constantFrom(...ODD_UNICODE, 'é', 'ключ', '\u00a0'), validKey)
      .map(([a, odd, b]) => headerSafe(a + odd + b)),
    fc.tuple(validKey, validKey).map(([a, b]) => [a, b]),
  )
  .filter((key) => {
    if (key === undefined || Array.isArray(key)) return true;
    return !IDEMPOTENCY_KEY.test(key.replace(/^[ \t]+|[ \t]+$/g, ''));
  });

const b64url = (value: string | object) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT signed by hand, so every header and claim can be wrong in its own way. */
export function jwt(payload: object, secret: string, alg = 'HS256'): string {
  const signing = `${b64url({ alg, typ: 'JWT' })}.${b64url(payload)}`;
  const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg] ?? 'sha256';
  return `${signing}.${createHmac(hash, secret).update(signing).digest('base64url')}`;
}

/** Well-formed JWTs the API must refuse: bad signature, claims, algorithm or expiry. */
export function craftedInvalidTokens(secret: string): string[] {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + 3_600;
  const subs: unknown[] = ['0', '-1', '1.5', 'abc', '01', '9007199254740992', ' 1', '', '１'];
  const good = jwt({ sub: '1', exp }, secret);
  const [header = '', , signature = ''] = good.split('.');
  return [
    jwt({ sub: '1', exp }, `${secret}-wrong`),
    jwt({ sub: '1', exp: now - 60 }, secret),
    jwt({ sub: '1' }, secret),
    jwt({ exp }, secret),
    jwt({ sub: '1', exp }, secret, 'HS512'),
    jwt({ sub: '1', exp }, secret, 'HS384'),
    jwt({ sub: '1', exp, nbf: exp }, secret),
    jwt({ sub: '1', exp: String(exp) }, secret),
    ...[...subs, 1, null, ['1'], { id: 1 }, "1' OR '1'='1", '__proto__'].map((sub) =>
      jwt({ sub, exp }, secret),
    ),
    `${header}.${b64url({ sub: '2', exp })}.${signature}`,
    `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: '1', exp })}.x`,
    good.slice(0, -1),
    `${good}x`,
  ];
}

/** Authorization header values (or none) that must get 401, built around a valid token. */
export function invalidAuthorization(
  valid: readonly string[],
  crafted: readonly string[],
): fc.Arbitrary<string | string[] | undefined> {
  const token = fc.constantFrom(...valid);
  const segment = fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 40 });
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(...crafted).map((t) => `Bearer ${t}`),
    token.chain((t) =>
      fc.constantFrom(`Basic ${t}`, `Token ${t}`, t, `Bearer  ${t}`, `Bearer ${t} x`, `Bearer`),
    ),
    token.chain((t) => fc.constantFrom(`Bearer ${t}.`, `Bearer ${t},Bearer ${t}`, `Bearer"${t}"`)),
    fc
      .tuple(fc.constantFrom(...crafted), token)
      .map(([bad, t]) => [`Bearer ${bad}`, `Bearer ${t}`]),
    fc
      .tuple(segment, segment, segment)
      .map((s) => `Bearer ${s.map((x) => Buffer.from(x).toString('base64url')).join('.')}`),
    hostileString.map((s) => headerSafe(`Bearer ${s}`)),
    hostileString.map(headerSafe),
  );
}

/** Every byte of the UTF-8 form percent-encoded, except RFC 3986 unreserved characters. */
export const percentEncode = (value: string): string =>
  [...Buffer.from(value, 'utf8')]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z0-9._~-]/.test(char)
        ? char
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');

/** What a request target may carry unencoded: visible ASCII (`%`, `..`, `?` and `#` included). */
export const rawTargetSafe = (value: string): string => value.replace(/[^\x21-\x7e]/g, '');

const hostileTargetText = fc.oneof(
  hostileString.map(percentEncode),
  hostileString.map(rawTargetSafe),
);

/** A path segment where an id belongs: ids that exist or not, numbers, UUIDs, junk. */
export const idSegment: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1, max: 8 }).map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.constantFrom(...NANISH).map(percentEncode),
  fc.constantFrom('9007199254740991', '9007199254740992', '00001', 'top', 'TOP', '1;', '1,2'),
  fc.constantFrom('%', '%E0%A4%A', '%2F', '%00', '1%00', '..', '%2e%2e', '%252e%252e', '%C0%AE'),
  fc.uuid().chain((u) => fc.constantFrom(u, u.toUpperCase(), `${u}x`, u.slice(1), `%7B${u}%7D`)),
  hostileTargetText,
);

/** Product cursors (`v1:<id>`) with ids out of range, and orders cursors (`v1:<ms>:<uuid>`). */
const cursor = fc.oneof(
  fc.bigInt({ min: -10n, max: 2n ** 64n }).map((n) => b64url(`v1:${n}`)),
  hostileString.map((s) => b64url(`v1:${s}`)),
  fc
    .tuple(
      fc.oneof(
        fc.integer({ min: 0, max: 999_999_999_999_999 }),
        // The last millisecond of year 9999, the first after it, and the largest 15-digit value.
        fc.constantFrom(0, 253_402_300_799_999, 253_402_300_800_000, 999_999_999_999_999),
      ),
      fc.oneof(fc.uuid(), fc.constantFrom('-'.repeat(36), 'f'.repeat(36), '0'.repeat(36))),
    )
    .map(([ms, id]) => b64url(`v1:${ms}:${id}`)),
  fc.base64String({ maxLength: 200 }),
);

const queryKey = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('limit', 'cursor') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('limit[]', 'cursor[]', 'limit[0]', 'cursor[__proto__]', 'LIMIT'),
  },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', '') },
  { weight: 1, arbitrary: hostileString },
);

const queryValue = fc.oneof(
  fc.integer({ min: -5, max: 200 }).map(String),
  fc.constantFrom(...NANISH),
  cursor,
  hostileString,
);

/** `''` or `?k=v&…`: repeated keys, bracketed keys, prototype names, raw or encoded junk. */
export const queryString: fc.Arbitrary<string> = fc
  .array(fc.tuple(queryKey, queryValue, fc.boolean()), { maxLength: 4 })
  .map((pairs) =>
    pairs.length === 0
      ? ''
      : `?${pairs
          .map(([key, value, raw]) =>
            raw
              ? `${rawTargetSafe(key)}=${rawTargetSafe(value)}`
              : `${percentEncode(key)}=${percentEncode(value)}`,
          )
          .join('&')}`,
  );
