import * as echarts from 'echarts';

/** A line of a chart; a null y leaves a gap. */
export interface LineSeries {
  name: string;
  points: [number, number | null][];
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  /** Vertical dashed lines with a label (phase starts). */
  markers?: { x: number; label: string }[];
  /** A horizontal dashed line with a label (a target). */
  threshold?: { y: number; label: string };
  /** A logarithmic y axis (latencies that span decades); linear from 0 otherwise. */
  logY?: boolean;
}

export interface BarChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  bars: { label: string; value: number; note?: string }[];
}

const WIDTH = 840;
const HEIGHT = 340;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2'];
const MUTED = '#666';

/** 1,500 → 1.5k, 2,000,000 → 2M: axis labels stay short. */
function formatTick(value: number): string {
  if (Math.abs(value) >= 1_000_000) return `${value / 1_000_000}M`;
  if (Math.abs(value) >= 1_000) return `${value / 1_000}k`;
  return String(value);
}

/** The round number (1, 2, 2.5 or 5 × 10ⁿ) at or above `value`: where an axis may end. */
function niceCeil(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value) ?? 10;
  return step * magnitude;
}

/** What every chart shares: fonts, colours, the title, the plot's margins, no animation. */
function frame(title: string): echarts.EChartsOption {
  return {
    animation: false,
    backgroundColor: '#fff',
    color: COLORS,
    // The server side measures text with Helvetica's widths; ask for a face close to them.
    textStyle: { fontFamily: 'Helvetica, Arial, sans-serif', fontSize: 12 },
    title: { text: title, left: 'center', top: 6, textStyle: { fontSize: 15, fontWeight: 600 } },
    grid: { left: 70, right: 24, top: 64, bottom: 56 },
  };
}

/** The y axis of every chart: a count or a time from 0, its name along the side. */
function yAxis(
  name: string,
  max?: (extent: { max: number }) => number,
): echarts.YAXisComponentOption {
  return {
    type: 'value',
    name,
    nameLocation: 'middle',
    nameGap: 50,
    min: 0,
    ...(max ? { max } : {}),
    axisLabel: { formatter: formatTick },
    splitLine: { lineStyle: { color: '#e5e5e5' } },
  };
}

/** A logarithmic y axis: latencies that span decades. */
function logAxis(name: string): echarts.YAXisComponentOption {
  return {
    type: 'log',
    name,
    nameLocation: 'middle',
    nameGap: 50,
    axisLabel: { formatter: (v: number) => String(v) },
    splitLine: { lineStyle: { color: '#e5e5e5' } },
  };
}

/** Renders `option` with ECharts' server-side SVG renderer: an SVG document as a string. */
function render(option: echarts.EChartsOption): string {
  const chart = echarts.init(null, null, {
    renderer: 'svg',
    ssr: true,
    width: WIDTH,
    height: HEIGHT,
  });
  try {
    chart.setOption(option);
    return `${chart.renderToSVGString()}\n`;
  } finally {
    chart.dispose();
  }
}

/** The phase markers (vertical) and the target (horizontal), as dashed lines with labels. */
function guides(spec: LineChartSpec): echarts.MarkLineComponentOption {
  const { threshold } = spec;
  return {
    silent: true,
    symbol: 'none',
    animation: false,
    data: [
      ...(spec.markers ?? []).map((m) => ({
        xAxis: m.x,
        lineStyle: { color: '#888', type: [4, 3], width: 1 },
        label: { formatter: m.label, position: 'end' as const, color: MUTED, fontSize: 10 },
      })),
      ...(threshold
        ? [
            {
              yAxis: threshold.y,
              lineStyle: { color: COLORS[1], type: [6, 4], width: 1 },
              label: {
                formatter: threshold.label,
                position: 'insideEndTop' as const,
                color: COLORS[1],
                fontSize: 11,
              },
            },
          ]
        : []),
    ],
  };
}

/** A line chart over a linear x axis, both axes from 0; an SVG document as a string. */
export function lineChart(spec: LineChartSpec): string {
  const xs = spec.series.flatMap((s) => s.points.map(([x]) => x));
  // The axis ends where the data or the last marker does, not at the next round number.
  const xMax = Math.max(1, ...xs, ...(spec.markers ?? []).map((m) => m.x));
  const { threshold } = spec;
  const series: echarts.SeriesOption[] = spec.series.map((s, i) => ({
    type: 'line',
    name: s.name,
    data: s.points,
    connectNulls: false,
    lineStyle: { width: 1.8 },
    symbol: 'circle',
    symbolSize: 3,
    // Only where points are far enough apart to be seen; a lone point still gets one.
    showAllSymbol: 'auto',
    // The guides belong to the chart, not to a series: drawn once, with the first.
    ...(i === 0 ? { markLine: guides(spec) } : {}),
  }));
  return render({
    ...frame(spec.title),
    // Generous gaps: a browser's face may still be a little wider than the measured one.
    legend: { top: 30, left: 70, itemHeight: 4, itemWidth: 14, itemGap: 24, icon: 'rect' },
    xAxis: {
      type: 'value',
      name: spec.xLabel,
      nameLocation: 'middle',
      nameGap: 32,
      min: 0,
      max: xMax,
      // The end is wherever the data stops: labelled only when it is a round number.
      axisLabel: { formatter: formatTick, showMaxLabel: Number.isInteger(xMax) },
      splitLine: { show: false },
    },
    // A target above every value still shows.
    yAxis: spec.logY
      ? logAxis(spec.yLabel)
      : yAxis(
          spec.yLabel,
          threshold ? (extent) => niceCeil(Math.max(extent.max, threshold.y) * 1.1) : undefined,
        ),
    series,
  });
}

/** A bar chart over categories, each bar labelled with its value (or its note). */
export function barChart(spec: BarChartSpec): string {
  return render({
    ...frame(spec.title),
    xAxis: {
      type: 'category',
      name: spec.xLabel,
      nameLocation: 'middle',
      nameGap: 32,
      data: spec.bars.map((bar) => bar.label),
      axisLabel: { interval: 0 },
      axisTick: { alignWithLabel: true },
    },
    yAxis: yAxis(spec.yLabel),
    series: [
      {
        type: 'bar',
        barCategoryGap: '24%',
        data: spec.bars.map((bar) => ({
          value: bar.value,
          label: {
            show: bar.value > 0,
            position: 'top',
            fontSize: 10,
            formatter: bar.note ?? formatTick(bar.value),
          },
        })),
      },
    ],
  });
}

export interface PercentileChartSpec {
  title: string;
  /** Per series: [percentile (0..100), latency ms] pairs, ascending. */
  series: { name: string; points: [number, number][] }[];
  /** Horizontal dashed lines: the goals. */
  thresholds?: { y: number; label: string }[];
}

/** The x position of a percentile on an HDR plot: 90 % → 1, 99 % → 2, 99.9 % → 3. */
export const nines = (percentile: number): number =>
  -Math.log10(Math.max(1e-6, 1 - percentile / 100));

/**
 * The HDR latency distribution: latency (log scale) by percentile, the x axis stretched so
 * each further nine gets as much room as the one before.
 */
export function percentileChart(spec: PercentileChartSpec): string {
  const labels: Record<number, string> = {
    0: '0%',
    1: '90%',
    2: '99%',
    3: '99.9%',
    4: '99.99%',
    5: '99.999%',
  };
  const xMax = Math.ceil(
    Math.max(1, ...spec.series.flatMap((s) => s.points.map(([p]) => nines(p)))),
  );
  return render({
    ...frame(spec.title),
    legend: { top: 30, left: 70, itemHeight: 4, itemWidth: 14, itemGap: 24, icon: 'rect' },
    xAxis: {
      type: 'value',
      name: 'percentile',
      nameLocation: 'middle',
      nameGap: 32,
      min: 0,
      max: xMax,
      interval: 1,
      axisLabel: { formatter: (x: number) => labels[x] ?? '' },
      splitLine: { lineStyle: { color: '#e5e5e5' } },
    },
    yAxis: logAxis('latency (ms, log scale)'),
    series: spec.series.map((s, i) => ({
      type: 'line',
      name: s.name,
      data: s.points.map(([p, ms]) => [nines(p), Math.max(ms, 0.01)]),
      symbol: 'none',
      lineStyle: { width: 1.8 },
      ...(i === 0 && spec.thresholds
        ? {
            markLine: {
              silent: true,
              symbol: 'none',
              animation: false,
              data: spec.thresholds.map((t, j) => ({
                yAxis: t.y,
                lineStyle: { color: COLORS[(j + 1) % COLORS.length], type: [6, 4], width: 1 },
                label: {
                  formatter: t.label,
                  position: 'insideStartTop' as const,
                  color: MUTED,
                  fontSize: 11,
                },
              })),
            },
          }
        : {}),
    })),
  });
}
