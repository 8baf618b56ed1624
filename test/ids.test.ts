import { UUID_PATTERN, uuidv7, uuidv7Floor } from '../shared/ids';

describe('uuidv7', () => {
  it('When many ids are made (across several refills of the random pool), then all are distinct, version 7, RFC variant', () => {
    const ids = Array.from({ length: 2_000 }, () => uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(UUID_PATTERN);
      expect(id[14]).toBe('7');
      expect('89ab').toContain(id[19]);
    }
  });

  it('When ids are made at later milliseconds, then they sort in time order', () => {
    const ids = [1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000].map((t) => uuidv7(t));
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]?.slice(0, 13)).toBe('018bcfe5-6800');
  });

  it('When a floor is taken at a millisecond, then every id made at it or later sorts at or above it, every earlier one below', () => {
    const t = 1_700_000_000_123;
    const floor = uuidv7Floor(t);
    expect(floor).toMatch(UUID_PATTERN);
    for (let i = 0; i < 200; i++) {
      expect(uuidv7(t) >= floor).toBe(true);
      expect(uuidv7(t + 1 + i) >= floor).toBe(true);
      expect(uuidv7(t - 1 - i) < floor).toBe(true);
    }
  });
});
