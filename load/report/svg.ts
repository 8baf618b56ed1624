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
}

export interface BarChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  bars: { label: string; value: number; note?: string }[];
}

const WIDTH = 840;
const HEIGHT = 340;
const MARGIN = { left: 70, right: 20, top: 52, bottom: 56 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2'];
const FONT = 'font-family="system-ui, sans-serif"';

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** Tick step of 1, 2 or 5 × 10ⁿ giving about `count` ticks up to `max`. */
function niceStep(max: number, count: number): number {
  if (max <= 0) return 1;
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  return step ?? 10 * magnitude;
}

/** Ticks from 0 in nice steps; the last one is at or above `max`. */
function ticks(max: number, count: number): number[] {
  const step = niceStep(max, count);
  const result: number[] = [0];
  while ((result.at(-1) ?? 0) < max - step * 1e-9 && result.length < 50) {
    result.push(Math.round(result.length * step * 1e6) / 1e6);
  }
  return result;
}

function formatTick(value: number): string {
  if (Math.abs(value) >= 1_000_000) return `${value / 1_000_000}M`;
  if (Math.abs(value) >= 1_000) return `${value / 1_000}k`;
  return String(value);
}

function frame(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" ${FONT} font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function axes(
  xTicks: { value: number; label: string; at: number }[],
  yTicks: number[],
  y: (v: number) => number,
  xLabel: string,
  yLabel: string,
): string[] {
  const out: string[] = [];
  for (const value of yTicks) {
    const py = y(value).toFixed(1);
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${py}" y2="${py}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle" fill="#444">${formatTick(value)}</text>`,
    );
  }
  for (const tick of xTicks) {
    out.push(
      `<line x1="${tick.at.toFixed(1)}" x2="${tick.at.toFixed(1)}" y1="${MARGIN.top + PLOT_H}" y2="${MARGIN.top + PLOT_H + 4}" stroke="#444"/>`,
      `<text x="${tick.at.toFixed(1)}" y="${MARGIN.top + PLOT_H + 17}" text-anchor="middle" fill="#444">${escapeXml(tick.label)}</text>`,
    );
  }
  const bottom = MARGIN.top + PLOT_H;
  out.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${bottom}" y2="${bottom}" stroke="#444"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${bottom}" stroke="#444"/>`,
    `<text x="${MARGIN.left + PLOT_W / 2}" y="${HEIGHT - 10}" text-anchor="middle">${escapeXml(xLabel)}</text>`,
    `<text transform="translate(16 ${MARGIN.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${escapeXml(yLabel)}</text>`,
  );
  return out;
}

function legend(names: string[]): string[] {
  const out: string[] = [];
  let x = MARGIN.left;
  for (const [i, name] of names.entries()) {
    const color = COLORS[i % COLORS.length] ?? '#000';
    out.push(
      `<rect x="${x}" y="31" width="14" height="4" fill="${color}"/>`,
      `<text x="${x + 18}" y="36" fill="#222">${escapeXml(name)}</text>`,
    );
    x += 30 + name.length * 7;
  }
  return out;
}

/** A line chart with linear axes from 0; an SVG document as a string. */
export function lineChart(spec: LineChartSpec): string {
  const all = spec.series.flatMap((s) => s.points);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y).filter((y): y is number => y !== null);
  if (spec.threshold) ys.push(spec.threshold.y);
  const xMax = Math.max(1, ...xs, ...(spec.markers ?? []).map((m) => m.x));
  const yTicks = ticks(Math.max(1, ...ys) * 1.05, 5);
  const yMax = yTicks.at(-1) ?? 1;
  const x = (v: number) => MARGIN.left + (v / xMax) * PLOT_W;
  const y = (v: number) => MARGIN.top + PLOT_H - (v / yMax) * PLOT_H;
  const xTicks = ticks(xMax, 8)
    .filter((v) => v <= xMax + 1e-9)
    .map((v) => ({ value: v, label: formatTick(v), at: x(v) }));
  const body = axes(xTicks, yTicks, y, spec.xLabel, spec.yLabel);
  for (const marker of spec.markers ?? []) {
    const px = x(marker.x);
    const nearRight = px > MARGIN.left + PLOT_W - 80;
    body.push(
      `<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_H}" stroke="#888" stroke-dasharray="4 3"/>`,
      `<text x="${(nearRight ? px - 3 : px + 3).toFixed(1)}" y="${MARGIN.top + 10}" text-anchor="${nearRight ? 'end' : 'start'}" fill="#666" font-size="10">${escapeXml(marker.label)}</text>`,
    );
  }
  if (spec.threshold) {
    const py = y(spec.threshold.y).toFixed(1);
    body.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${py}" y2="${py}" stroke="#d62728" stroke-dasharray="6 4"/>`,
      `<text x="${MARGIN.left + PLOT_W - 4}" y="${(Number(py) - 4).toFixed(1)}" text-anchor="end" fill="#d62728" font-size="11">${escapeXml(spec.threshold.label)}</text>`,
    );
  }
  for (const [i, series] of spec.series.entries()) {
    const color = COLORS[i % COLORS.length] ?? '#000';
    // A null breaks the line: one polyline per run of known values.
    let run: string[] = [];
    const flush = () => {
      if (run.length === 1) {
        const [cx, cy] = (run[0] ?? '0,0').split(',');
        body.push(`<circle cx="${cx}" cy="${cy}" r="2" fill="${color}"/>`);
      } else if (run.length > 1) {
        body.push(
          `<polyline fill="none" stroke="${color}" stroke-width="1.8" points="${run.join(' ')}"/>`,
        );
      }
      run = [];
    };
    for (const [px, py] of series.points) {
      if (py === null) flush();
      else run.push(`${x(px).toFixed(1)},${y(py).toFixed(1)}`);
    }
    flush();
  }
  body.push(...legend(spec.series.map((s) => s.name)));
  return frame(spec.title, body);
}

/** A bar chart over categories, each bar labelled with its value (and note). */
export function barChart(spec: BarChartSpec): string {
  const yTicks = ticks(Math.max(1, ...spec.bars.map((b) => b.value)) * 1.1, 5);
  const yMax = yTicks.at(-1) ?? 1;
  const y = (v: number) => MARGIN.top + PLOT_H - (v / yMax) * PLOT_H;
  const slot = PLOT_W / Math.max(1, spec.bars.length);
  const xTicks = spec.bars.map((bar, i) => ({
    value: i,
    label: bar.label,
    at: MARGIN.left + slot * (i + 0.5),
  }));
  const body = axes(xTicks, yTicks, y, spec.xLabel, spec.yLabel);
  for (const [i, bar] of spec.bars.entries()) {
    const left = MARGIN.left + slot * i + slot * 0.12;
    const top = y(bar.value);
    const height = MARGIN.top + PLOT_H - top;
    body.push(
      `<rect x="${left.toFixed(1)}" y="${top.toFixed(1)}" width="${(slot * 0.76).toFixed(1)}" height="${height.toFixed(1)}" fill="${COLORS[0] ?? '#000'}"/>`,
    );
    if (bar.value > 0) {
      const text = bar.note === undefined ? formatTick(bar.value) : bar.note;
      body.push(
        `<text x="${(left + slot * 0.38).toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="10" fill="#222">${escapeXml(text)}</text>`,
      );
    }
  }
  return frame(spec.title, body);
}
