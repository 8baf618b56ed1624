import { alternatedRatio } from '../../load/bench/table';

describe("The bench's alternated ratio", () => {
  it('When a baseline and a system alternated (bare, API, bare, API), then every adjacent pair gives system ÷ baseline and the figure is their median', () => {
    // The second baseline ran on a busier machine: its pairs read lower, the median holds.
    const { median, ratios } = alternatedRatio([10, 12, 15, 13]);
    expect(ratios.map((r) => Number(r.toFixed(3)))).toEqual([1.2, 0.8, 0.867]);
    expect(median).toBeCloseTo(0.867, 3);
  });

  it('When there are two pairs, then the median is their mean; when a run is missing, its pairs are left out', () => {
    expect(alternatedRatio([10, 12, 12]).median).toBeCloseTo(1.1, 6);
    const missing = alternatedRatio([10, 12, Number.NaN, 13]);
    expect(missing.ratios).toEqual([1.2]);
    expect(missing.median).toBe(1.2);
    expect(Number.isNaN(alternatedRatio([10]).median)).toBe(true);
  });
});
