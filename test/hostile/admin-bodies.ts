/**
 * Request bodies for the operator's catalog writes (`/admin/products`), and oracles that say
 * what the contract accepts. As in bodies.ts, the "invalid" generators filter through the
 * oracles, so a property that expects a refusal never trips over a body that happens to be
 * valid.
 */
import fc from 'fast-check';
import { extraEntries, hostileValueText, objectText } from './arbitraries';
import { invalidBodies } from './bodies';

const MAX_NAME = 200;
const MAX_DESCRIPTION = 2_000;
const MAX_PRICE = 1_000_000_000_000;
const MAX_STOCK = 1_000_000_000;
const MAX_RESTOCK = 1_000_000;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const onlyKeys = (value: Record<string, unknown>, allowed: string[]): boolean =>
  Object.keys(value).every((key) => allowed.includes(key));

const intIn = (value: unknown, min: number, max: number): boolean =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;

const isName = (value: unknown): boolean =>
  typeof value === 'string' && value.length >= 1 && value.length <= MAX_NAME && /\S/.test(value);

const isDescription = (value: unknown): boolean =>
  typeof value === 'string' && value.length <= MAX_DESCRIPTION;

export function isValidCreateBody(value: unknown): boolean {
  return (
    isRecord(value) &&
    onlyKeys(value, ['name', 'description', 'price', 'stock']) &&
    isName(value.name) &&
    (!('description' in value) || isDescription(value.description)) &&
    intIn(value.price, 0, MAX_PRICE) &&
    intIn(value.stock, 0, MAX_STOCK)
  );
}

export function isValidPatchBody(value: unknown): boolean {
  return (
    isRecord(value) &&
    Object.keys(value).length > 0 &&
    onlyKeys(value, ['name', 'description', 'price']) &&
    (!('name' in value) || isName(value.name)) &&
    (!('description' in value) || isDescription(value.description)) &&
    (!('price' in value) || intIn(value.price, 0, MAX_PRICE))
  );
}

export function isValidRestockBody(value: unknown): boolean {
  return isRecord(value) && onlyKeys(value, ['quantity']) && intIn(value.quantity, 1, MAX_RESTOCK);
}

/** Names the contract accepts, including ones full of quotes, markup and SQL. */
export const validName = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.constantFrom(
      "'; DROP TABLE products; --",
      '<script>alert(1)</script>',
      '{{7*7}}',
      '${process.exit(1)}',
      'Robert"); SELECT SLEEP(10); --',
      '\u202Egnp.exe',
      'ｔｅａ 🍵',
      'n'.repeat(MAX_NAME),
    ),
  )
  .filter(isName);

const text = (value: unknown) => JSON.stringify(value);

export const validCreateText = fc
  .record({
    name: validName,
    price: fc.integer({ min: 0, max: MAX_PRICE }),
    stock: fc.integer({ min: 0, max: MAX_STOCK }),
  })
  .map(text);

export const validPatchText = fc
  .record(
    {
      name: validName,
      description: fc.string({ maxLength: 60 }),
      price: fc.integer({ min: 0, max: MAX_PRICE }),
    },
    { requiredKeys: [] },
  )
  .filter((changes) => Object.keys(changes).length > 0)
  .map(text);

export const validRestockText = fc
  .integer({ min: 1, max: MAX_RESTOCK })
  .map((quantity) => text({ quantity }));

/** `valid` with more entries appended: unknown fields, prototype names, stock. */
const withExtra = (valid: fc.Arbitrary<string>) =>
  fc
    .tuple(valid, extraEntries)
    .map(([body, extra]) => `${body.slice(0, -1)},${objectText(extra).slice(1)}`);

const PROTO = [
  '{"name":"a","price":1,"stock":1,"__proto__":{"stock":99}}',
  '{"__proto__":{"name":"a","price":1,"stock":1}}',
  '{"constructor":{"prototype":{"price":1}}}',
  '{"price":1,"__proto__":{"price":2}}',
  '{"quantity":1,"__proto__":{"quantity":1000}}',
  '{"__proto__":{"quantity":5}}',
];

const createValues: fc.Arbitrary<string> = fc.oneof(
  hostileValueText.map((v) =>
    objectText([
      ['name', v],
      ['price', '1'],
      ['stock', '1'],
    ]),
  ),
  hostileValueText.map((v) =>
    objectText([
      ['name', '"a"'],
      ['description', v],
      ['price', '1'],
      ['stock', '1'],
    ]),
  ),
  hostileValueText.map((v) =>
    objectText([
      ['name', '"a"'],
      ['price', v],
      ['stock', '1'],
    ]),
  ),
  hostileValueText.map((v) =>
    objectText([
      ['name', '"a"'],
      ['price', '1'],
      ['stock', v],
    ]),
  ),
  fc.constantFrom('{}', '{"name":"a"}', '{"name":"a","price":1}', '{"price":1,"stock":1}'),
  withExtra(validCreateText),
  fc.constantFrom(...PROTO),
  hostileValueText,
);

const patchValues: fc.Arbitrary<string> = fc.oneof(
  hostileValueText.map((v) => objectText([['name', v]])),
  hostileValueText.map((v) => objectText([['description', v]])),
  hostileValueText.map((v) => objectText([['price', v]])),
  hostileValueText.map((v) => objectText([['stock', v]])),
  fc.constantFrom('{}', '{"stock":1}', '{"price":1,"stock":1}', '{"stock_received":1}'),
  withExtra(validPatchText),
  fc.constantFrom(...PROTO),
  hostileValueText,
);

const restockValues: fc.Arbitrary<string> = fc.oneof(
  hostileValueText.map((v) => objectText([['quantity', v]])),
  fc.constantFrom('{}', '{"stock":5}', '{"quantity":0}', '{"quantity":1000001}'),
  withExtra(validRestockText),
  fc.constantFrom(...PROTO),
  hostileValueText,
);

export const invalidCreateBody = invalidBodies(createValues, validCreateText, isValidCreateBody);
export const invalidPatchBody = invalidBodies(patchValues, validPatchText, isValidPatchBody);
export const invalidRestockBody = invalidBodies(
  restockValues,
  validRestockText,
  isValidRestockBody,
);
