import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson, fingerprint } from '../shared/requests/records';

/** The definition the stored fingerprints were made with: a sorted copy, then JSON.stringify. */
function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortedCopy((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

describe('fingerprint of a request body', () => {
  it('When bodies are fingerprinted, then the values are the ones earlier versions stored (a replay across a deploy still matches)', () => {
    // Computed by the version before the one-pass form (commit 05ee42a).
    expect(fingerprint({ items: [{ quantity: 2, productId: 1 }] })).toBe(
      '36c264503a2fa5e0a543f8991ed4d298a78444f0dfff111e4e441508d548c465',
    );
    expect(fingerprint({ amount: 1500 })).toBe(
      'd30bcd4f029738b3b07fa1fedd509dda26562cbf1d7233da401953f0fde666a5',
    );
    expect(fingerprint({ a: [1, 'x', null, true, { z: 1, b: [] }], note: 'é\u2028' })).toBe(
      '4d299b26a4e586da926c1103b7799de8aa9204089844218911367e16fa8c0f5a',
    );
  });

  it('When any JSON value is written canonically, then it is JSON.stringify of its sorted copy', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(canonicalJson(value)).toBe(JSON.stringify(sortedCopy(value)));
        expect(fingerprint(value)).toBe(
          createHash('sha256')
            .update(JSON.stringify(sortedCopy(value)))
            .digest('hex'),
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it('When an object holds undefined or a function, then it is written as JSON.stringify writes its sorted copy', () => {
    const value = { b: undefined, a: [undefined, () => 1], n: Number.NaN };
    expect(canonicalJson(value)).toBe(JSON.stringify(sortedCopy(value)));
    expect(canonicalJson(value)).toBe('{"a":[null,null],"n":null}');
  });

  it('When an object has integer-like keys, then they come first in numeric order, as in its sorted copy', () => {
    const value = { b: 1, '10': 2, '': 3, '9': 4, '01': 5, '4294967295': 6 };
    expect(canonicalJson(value)).toBe(JSON.stringify(sortedCopy(value)));
    expect(canonicalJson(value)).toBe('{"9":4,"10":2,"":3,"01":5,"4294967295":6,"b":1}');
  });

  it('When the keys of a body come in another order, then its fingerprint is the same', () => {
    expect(fingerprint({ items: [{ productId: 1, quantity: 2 }] })).toBe(
      fingerprint({ items: [{ quantity: 2, productId: 1 }] }),
    );
    expect(fingerprint({ items: [{ productId: 1, quantity: 2 }] })).not.toBe(
      fingerprint({ items: [{ productId: 1, quantity: 3 }] }),
    );
  });
});
