import { isoTime } from '../shared/clock';

describe('isoTime', () => {
  it('When times are written in any order, repeated or not, then each is its Date ISO string', () => {
    const times = [1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_999, 0, 1_700_000_000_000];
    for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('When no time is given, then it is now', () => {
    const before = Date.now();
    const written = Date.parse(isoTime());
    expect(written).toBeGreaterThanOrEqual(before);
    expect(written).toBeLessThanOrEqual(Date.now());
  });
});
