import { barChart, lineChart } from '../../load/report/render';

/** The text of every <text> element, unescaped, in document order. */
const texts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) =>
    (m[1] ?? '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'),
  );

describe("The load reports' charts", () => {
  it('When a line chart is drawn, then it is a standalone SVG with its title, axis names, legend, markers, target and one path per series', () => {
    const svg = lineChart({
      title: 'Resident memory (RSS)',
      xLabel: 'seconds since the scenario started',
      yLabel: 'MiB',
      markers: [
        { x: 0, label: 'warm-up' },
        { x: 3, label: 'product-detail' },
      ],
      threshold: { y: 200, label: 'API target < 200 MiB' },
      series: [
        {
          name: 'API',
          points: [
            [1, 150],
            [2, 152],
            [3, null],
            [4, 160],
          ],
        },
        {
          name: 'workers',
          points: [
            [1, 110],
            [2, 111],
          ],
        },
      ],
    });
    expect(svg).toMatch(
      /^<svg [^>]*width="840" height="340"[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/,
    );
    expect(svg.trimEnd()).toMatch(/<\/svg>$/);
    expect(texts(svg)).toEqual(
      expect.arrayContaining([
        'Resident memory (RSS)',
        'seconds since the scenario started',
        'MiB',
        'API',
        'workers',
        'warm-up',
        'product-detail',
        'API target < 200 MiB',
      ]),
    );
    // The two series' lines in their colours; the null splits the first one.
    expect(svg).toContain('stroke="#1f77b4"');
    expect(svg).toContain('stroke="#d62728"');
  });

  it('When a line chart asks for a log y axis, then its labels are decades, not a linear scale from 0', () => {
    const svg = lineChart({
      title: 'p99 by offered rate',
      xLabel: 'offered requests per second',
      yLabel: 'p99 latency (ms, log scale)',
      logY: true,
      threshold: { y: 5, label: 'goal' },
      series: [
        {
          name: 'API',
          points: [
            [1_000, 1.5],
            [5_000, 40],
            [10_000, 700],
          ],
        },
      ],
    });
    expect(texts(svg)).toEqual(expect.arrayContaining(['1', '10', '100', '1000', 'goal']));
    // A linear axis to 700 would be labelled 100, 200, …
    expect(texts(svg)).not.toContain('200');
  });

  it('When a bar chart is drawn, then every category is labelled and every non-empty bar carries its note', () => {
    const svg = barChart({
      title: 'Latency distribution: submit (2,000 answers)',
      xLabel: 'latency (ms)',
      yLabel: 'answers',
      bars: [
        { label: '0–1', value: 0, note: '' },
        { label: '1–2', value: 1_500, note: '75.0%' },
        { label: '2–5', value: 500, note: '25.0%' },
      ],
    });
    expect(svg.startsWith('<svg ')).toBe(true);
    expect(texts(svg)).toEqual(
      expect.arrayContaining(['0–1', '1–2', '2–5', '75.0%', '25.0%', 'answers', 'latency (ms)']),
    );
    // A y axis labelled in thousands, from 0.
    expect(texts(svg)).toEqual(expect.arrayContaining(['0', '1.5k']));
  });
});
