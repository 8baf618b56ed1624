import { hdrP95, summarize } from '../../load/scenarios/recorder';

describe("The load reports' latency percentiles", () => {
  it('When latencies are summarised, then p95 comes from an HDR histogram, within its 3-digit precision of the exact value', () => {
    // 1.000 ms .. 1000.000 ms in steps of 0.999 ms: exact nearest-rank p95 is the 950th value.
    const values = Float64Array.from({ length: 1_000 }, (_, i) => 1 + i * 0.999);
    const exact = values[949] ?? NaN;
    const summary = summarize(values);
    expect(summary.p95).toBe(hdrP95(values));
    expect(Math.abs((summary.p95 ?? 0) - exact) / exact).toBeLessThan(0.001);
    expect(summary.count).toBe(1_000);
  });

  it('When nothing was recorded, then there is no p95', () => {
    expect(hdrP95([])).toBeNull();
    expect(summarize(new Float64Array()).p95).toBeNull();
  });
});
