/**
 * Request bodies for POST /api/charges and /api/orders, and oracles that say what the contract
 * would accept. The "invalid" generators filter through the oracles, so a property that expects
 * a rejection never trips over an input that happens to be valid.
 */
import fc from 'fast-check';
import { extraEntries, hostileKeyName, hostileValueText, objectText } from './arbitraries';

export const BODY_LIMIT_BYTES = 16 * 1024;
const MAX_AMOUNT = 10_000_000;
const MAX_ITEMS = 50;
const MAX_QUANTITY = 100;

export interface BodySpec {
  /** `null` sends no Content-Type header. */
  contentType: string | null;
  contentEncoding?: string;
  text: string;
}

const isRecordWithKeys = (value: unknown, keys: string[]): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.keys(value).sort().join(',') === [...keys].sort().join(',');

const intIn = (value: unknown, min: number, max: number): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

export function isValidChargeBody(value: unknown): boolean {
  return isRecordWithKeys(value, ['amount']) && intIn(value.amount, 1, MAX_AMOUNT);
}

export function isValidOrderBody(value: unknown): boolean {
  if (!isRecordWithKeys(value, ['items']) || !Array.isArray(value.items)) return false;
  const items: unknown[] = value.items;
  if (items.length < 1 || items.length > MAX_ITEMS) return false;
  const ids = new Set<unknown>();
  for (const item of items) {
    if (!isRecordWithKeys(item, ['productId', 'quantity'])) return false;
    if (!intIn(item.productId, 1, Number.MAX_SAFE_INTEGER)) return false;
    if (!intIn(item.quantity, 1, MAX_QUANTITY)) return false;
    ids.add(item.productId);
  }
  return ids.size === items.length;
}

/** Whether the server would accept this body: JSON, in size, and valid by `isValid`. */
export function bodyIsAcceptable(spec: BodySpec, isValid: (value: unknown) => boolean): boolean {
  if (spec.contentType !== 'application/json' || spec.contentEncoding !== undefined) return false;
  const bytes = Buffer.from(spec.text, 'utf8');
  if (bytes.length > BODY_LIMIT_BYTES) return false;
  try {
    // What the server parses: the UTF-8 bytes decoded again, a leading BOM dropped.
    return isValid(JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, '')));
  } catch {
    return false;
  }
}

export const validChargeText = fc
  .integer({ min: 1, max: MAX_AMOUNT })
  .map((amount) => objectText([['amount', String(amount)]]));

const itemText = (productId: string, quantity: string) =>
  objectText([
    ['productId', productId],
    ['quantity', quantity],
  ]);

const validItems = fc.uniqueArray(
  fc.record({
    productId: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    quantity: fc.integer({ min: 1, max: MAX_QUANTITY }),
  }),
  { minLength: 1, maxLength: 8, selector: (item) => item.productId },
);
const itemsText = (items: readonly string[]) => objectText([['items', `[${items.join(',')}]`]]);

export const validOrderText = validItems.map((items) =>
  itemsText(items.map((i) => itemText(String(i.productId), String(i.quantity)))),
);

const PROTO_CHARGES = [
  '{"amount":100,"__proto__":{"isAdmin":true}}',
  '{"__proto__":{"amount":100}}',
  '{"constructor":{"prototype":{"amount":100}}}',
  '{"amount":100,"constructor":{"prototype":{"polluted":true}}}',
];
const PROTO_ORDERS = [
  '{"items":[{"productId":1,"quantity":1,"__proto__":{"quantity":2}}]}',
  '{"__proto__":{"items":[{"productId":1,"quantity":1}]}}',
  '{"items":[{"productId":1,"quantity":1}],"constructor":{"prototype":{"polluted":true}}}',
  '{"items":{"__proto__":[{"productId":1,"quantity":1}]}}',
];

const chargeValueTexts: fc.Arbitrary<string> = fc.oneof(
  hostileValueText.map((v) => objectText([['amount', v]])),
  fc
    .tuple(fc.integer({ min: 1, max: MAX_AMOUNT }), extraEntries)
    .map(([a, extra]) => objectText([['amount', String(a)], ...extra])),
  fc.array(fc.tuple(hostileKeyName, hostileValueText), { maxLength: 3 }).map(objectText),
  fc
    .integer({ min: 1, max: MAX_AMOUNT })
    .chain((a) =>
      fc.constantFrom(`{"amount":"${a}"}`, `{"amount":[${a}]}`, `{"amount":{"value":${a}}}`),
    ),
  fc.constantFrom(...PROTO_CHARGES),
  hostileValueText,
);

const badItem = fc.oneof(
  hostileValueText,
  fc.tuple(hostileValueText, fc.integer({ min: 1, max: 100 })).map(([p, q]) => itemText(p, `${q}`)),
  fc.tuple(fc.integer({ min: 1, max: 1e6 }), hostileValueText).map(([p, q]) => itemText(`${p}`, q)),
  fc
    .tuple(fc.integer({ min: 1, max: 1e6 }), extraEntries)
    .map(([p, extra]) => objectText([['productId', `${p}`], ['quantity', '1'], ...extra])),
  fc.integer({ min: 1, max: 1e6 }).map((p) => objectText([['productId', `${p}`]])),
);

const orderValueTexts: fc.Arbitrary<string> = fc.oneof(
  hostileValueText.map((v) => objectText([['items', v]])),
  fc.constant('{"items":[]}'),
  fc
    .integer({ min: MAX_ITEMS + 1, max: 80 })
    .map((n) => itemsText(Array.from({ length: n }, (_, i) => itemText(String(i + 1), '1')))),
  fc
    .tuple(fc.array(badItem, { minLength: 1, maxLength: 3 }), validItems)
    .map(([bad, good]) =>
      itemsText([...good.map((i) => itemText(String(i.productId), '1')), ...bad]),
    ),
  fc
    .tuple(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 100 }))
    .map(([p, q]) => itemsText([itemText(`${p}`, `${q}`), itemText(`${p}`, '1')])),
  fc
    .tuple(validOrderText, extraEntries)
    .map(([valid, extra]) => `${valid.slice(0, -1)},${objectText(extra).slice(1)}`),
  fc.constantFrom(...PROTO_ORDERS),
  hostileValueText,
);

/** Broken variants of a JSON text: cut short, trailing garbage, JavaScript-isms. */
const broken = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    fc.tuple(valid, fc.nat()).map(([t, n]) => t.slice(0, n % t.length)),
    fc
      .tuple(valid, fc.constantFrom('}', ']', ',', 'x', '{}', '"', '\u0000', '//', 'NaN'))
      .map(([t, junk]) => t + junk),
    valid.map((t) => t.replaceAll('"', "'")),
    valid.map((t) => t.replace(/"(\w+)":/g, '$1:')),
    valid.map((t) => `${t.slice(0, -1)},}`),
    valid.map((t) => `/* c */${t}`),
    fc.constantFrom('{"amount":NaN}', '{"amount":0x10}', '{"amount":+1}', '{"amount":.5}'),
    fc.constantFrom('{"items":[{"productId":01,"quantity":1}]}', '{"items":[,]}', 'undefined'),
  );

/** Valid JSON padded with whitespace past the 16 KiB limit. */
const oversized = (valid: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .tuple(valid, fc.integer({ min: 1, max: 4_096 }))
    .map(([t, extra]) => `{${' '.repeat(BODY_LIMIT_BYTES + extra - t.length)}${t.slice(1)}`);

const BAD_CONTENT_TYPES = [
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'application/javascript',
  'application/octet-stream',
  'application/json; charset=latin1',
  'application/json; charset=iso-8859-1',
  'application/json; charset=us-ascii',
  '',
];
const BAD_ENCODINGS = ['gzip', 'deflate', 'br', 'compress', 'x-evil'];

/** Bodies the contract rejects, with otherwise valid content (validity is checked by `isValid`). */
export function invalidBodies(
  values: fc.Arbitrary<string>,
  valid: fc.Arbitrary<string>,
  isValid: (value: unknown) => boolean,
): fc.Arbitrary<BodySpec> {
  const json = (text: string): BodySpec => ({ contentType: 'application/json', text });
  return fc
    .oneof(
      { weight: 5, arbitrary: values.map(json) },
      { weight: 3, arbitrary: broken(valid).map(json) },
      { weight: 1, arbitrary: oversized(valid).map(json) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(valid, fc.constantFrom<string | null>(null, ...BAD_CONTENT_TYPES))
          .map(([text, contentType]) => ({ contentType, text })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(valid, fc.constantFrom(...BAD_ENCODINGS))
          .map(([text, contentEncoding]) => ({ ...json(text), contentEncoding })),
      },
    )
    .filter((spec) => !bodyIsAcceptable(spec, isValid));
}

export const invalidChargeBody = invalidBodies(
  chargeValueTexts,
  validChargeText,
  isValidChargeBody,
);
export const invalidOrderBody = invalidBodies(orderValueTexts, validOrderText, isValidOrderBody);

/** A cancellation's body: none, or an empty object. */
export function isValidCancelBody(value: unknown): boolean {
  return isRecordWithKeys(value, []);
}

export const validCancelText = fc.constantFrom('{}', ' { } ', '\uFEFF{}');

/** Any JSON but `{}`: objects with fields, arrays, scalars, null. */
const cancelValueTexts = fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value));

// An empty body (a byte-order mark alone too; JSON Content-Type or none) is no body: valid.
export const invalidCancelBody = invalidBodies(
  cancelValueTexts,
  validCancelText,
  isValidCancelBody,
).filter(
  (spec) =>
    !(
      spec.text.replace(/^\uFEFF/, '') === '' &&
      spec.contentEncoding === undefined &&
      (spec.contentType === null || spec.contentType === 'application/json')
    ),
);
