import fc from 'fast-check';
import type { z } from 'zod';
import { chargeBody, usualChargeBody } from '../../api/charges/schemas';
import { placeOrderBody, usualOrderBody } from '../../api/orders/schemas';
import { hostileKeyName, hostileNumber } from '../hostile/arbitraries';
import {
  invalidChargeBody,
  invalidOrderBody,
  validChargeText,
  validOrderText,
  type BodySpec,
} from '../hostile/bodies';

/** The value a body's text parses to, or undefined when it is not JSON. */
function valueOf(spec: BodySpec): unknown {
  try {
    return JSON.parse(spec.text.replace(/^\uFEFF/, '')) as unknown;
  } catch {
    return undefined;
  }
}

/** Numbers on and beside every bound the schemas draw, and the hostile ones. */
const edgeNumber = fc.oneof(
  fc.constantFrom(
    -1,
    -0,
    0,
    1,
    1.5,
    49,
    50,
    51,
    99,
    100,
    101,
    10_000_000,
    10_000_001,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1,
  ),
  fc.integer({ min: 1, max: 1_000 }),
  hostileNumber,
);

/** Any key name: hostile ones, short ones and the schemas' own. */
const anyKey = fc.oneof(
  hostileKeyName,
  fc.string({ maxLength: 2 }),
  fc.constantFrom('items', 'productId', 'quantity', 'amount', 'Amount', ' amount'),
);
const anyValue = fc.oneof(
  { weight: 6, arbitrary: edgeNumber },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
);

type Item = Record<string, unknown>;

/** `item` without `field`. */
const dropped = (item: Item, field: string): Item =>
  Object.fromEntries(Object.entries(item).filter(([key]) => key !== field));

/** 1..50 valid items, distinct products. */
const validItems = fc.uniqueArray(
  fc.record({
    productId: fc.integer({ min: 1, max: 60 }),
    quantity: fc.integer({ min: 1, max: 100 }),
  }),
  { minLength: 1, maxLength: 50, selector: (item) => item.productId },
);

/**
 * A valid order with one thing changed: a field set to a value on or beside a bound or of
 * another type, a field dropped, a key added (to an item or the body), a product repeated, or
 * the list emptied or grown to 50 and 51 items. Some of these stay valid.
 */
const oneOffOrder = fc
  .tuple(validItems, fc.nat(), fc.nat(5), anyKey, anyValue)
  .map(([valid, at, change, key, value]) => {
    const items: Item[] = valid.map((item) => ({ ...item }));
    const item = items[at % items.length] as Item;
    const field = at % 2 === 0 ? 'productId' : 'quantity';
    const body: Record<string, unknown> = { items };
    if (change === 0) item[field] = value;
    else if (change === 1) items[at % items.length] = dropped(item, field);
    else if (change === 2) item[key] = value;
    else if (change === 3) body[key] = value;
    else if (change === 4) items.push({ ...item, quantity: 1 });
    else {
      const length = [0, 50, 51][at % 3] as number;
      body.items = Array.from({ length }, (_, n) => ({ productId: n + 1, quantity: 1 }));
    }
    return body;
  });

/** A valid charge with its amount changed, dropped, or a key added. */
const oneOffCharge = fc
  .tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.nat(2), anyKey, anyValue)
  .map(([amount, change, key, value]): Record<string, unknown> => {
    if (change === 0) return { amount: value };
    if (change === 1) return {};
    return { amount, [key]: value };
  });

const json = (text: fc.Arbitrary<string>) => text.map((t) => JSON.parse(t) as unknown);

/**
 * The usual body and the schema agree on every value: the usual one recognises exactly what
 * the schema accepts, and answers what the schema parses it to, keys in the same order.
 */
function agree(usual: (value: unknown) => unknown, schema: z.ZodType) {
  return (value: unknown) => {
    const parsed = schema.safeParse(value);
    const answered = usual(value);
    expect(answered === undefined ? 'refused' : 'recognised').toBe(
      parsed.success ? 'recognised' : 'refused',
    );
    if (parsed.success) expect(JSON.stringify(answered)).toBe(JSON.stringify(parsed.data));
  };
}

describe('the usual bodies, recognised without the schema', () => {
  it('When an order body is valid, invalid, hostile or beside a bound, then the usual check and the schema agree', () => {
    fc.assert(
      fc.property(
        fc.oneof(json(validOrderText), oneOffOrder, invalidOrderBody.map(valueOf), fc.jsonValue()),
        agree(usualOrderBody, placeOrderBody),
      ),
      { numRuns: 3_000 },
    );
  });

  it('When a charge body is valid, invalid, hostile or beside a bound, then the usual check and the schema agree', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          json(validChargeText),
          oneOffCharge,
          invalidChargeBody.map(valueOf),
          fc.jsonValue(),
        ),
        agree(usualChargeBody, chargeBody),
      ),
      { numRuns: 3_000 },
    );
  });

  it('When keys come in another order, then the answer lists them as the schema does', () => {
    const body = JSON.parse('{"items":[{"quantity":2,"productId":7}]}') as unknown;
    expect(JSON.stringify(usualOrderBody(body))).toBe('{"items":[{"productId":7,"quantity":2}]}');
    expect(
      usualOrderBody(JSON.parse('{"items":[{"productId":7,"quantity":2,"__proto__":{}}]}')),
    ).toBe(undefined);
  });
});
