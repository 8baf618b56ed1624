import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A flame graph (SVG) from a V8 CPU profile (`node --cpu-prof`, e.g. `npm run bench --
 * --cpu-prof`), and the functions and packages the CPU went to, as Markdown:
 *
 *   node dist/load/bench/flame.js <profile.cpuprofile> <out.svg> "<title>"
 *
 * Idle time is left out: the widths are shares of the CPU the process spent.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Frame {
  name: string;
  where: string;
  self: number;
  total: number;
  children: Frame[];
}

const SKIP = new Set(['(idle)', '(root)']);

/** Where a frame's code lives: this project's file, a package, or Node itself. */
export function origin(url: string): string {
  if (url === '') return 'v8/native';
  if (url.startsWith('node:')) return 'node';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') === true ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  const dist = url.indexOf('/dist/');
  return dist >= 0 ? url.slice(dist + '/dist/'.length) : url;
}

function build(nodes: Map<number, ProfileNode>, id: number): Frame {
  const node = nodes.get(id);
  if (node === undefined) throw new Error(`profile node ${id} missing`);
  const children = (node.children ?? [])
    .map((child) => build(nodes, child))
    .filter((f) => !SKIP.has(f.name) && f.total > 0);
  const self = SKIP.has(node.callFrame.functionName) ? 0 : (node.hitCount ?? 0);
  const frame = {
    name: node.callFrame.functionName || '(anonymous)',
    where: `${origin(node.callFrame.url)}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`,
    self,
    total: self + children.reduce((sum, c) => sum + c.total, 0),
    children: children.sort((a, b) => a.name.localeCompare(b.name)),
  };
  return frame;
}

const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function colour(where: string): string {
  if (where.startsWith('node')) return '#e8a33c';
  if (where.startsWith('v8') || where.startsWith('(')) return '#c9c9c9';
  if (/^(api|workers|shared)\//.test(where)) return '#5aa469';
  return '#d9705a';
}

const WIDTH = 1200;
const ROW = 17;

function svg(root: Frame, title: string): string {
  const rects: string[] = [];
  let depth = 0;
  const draw = (frame: Frame, x: number, level: number) => {
    const w = (frame.total / root.total) * WIDTH;
    // Narrower than a pixel or two is unreadable, and only makes the picture taller.
    if (w < 1.5) return;
    depth = Math.max(depth, level);
    const label = `${frame.name} ${frame.where}`;
    const pct = ((frame.total / root.total) * 100).toFixed(1);
    const chars = Math.floor((w - 4) / 6.5);
    const text = chars < 3 ? '' : label.length > chars ? `${label.slice(0, chars - 1)}…` : label;
    rects.push(
      `<g><title>${escape(`${label} — ${pct} % (self ${((frame.self / root.total) * 100).toFixed(1)} %)`)}</title>` +
        `<rect x="${x.toFixed(1)}" y="@Y${level}@" width="${Math.max(w - 0.5, 0.3).toFixed(1)}" height="${ROW - 1}" fill="${colour(frame.where)}"/>` +
        (text ? `<text x="${(x + 2).toFixed(1)}" y="@T${level}@">${escape(text)}</text>` : '') +
        '</g>',
    );
    let cx = x;
    for (const child of frame.children) {
      draw(child, cx, level + 1);
      cx += (child.total / root.total) * WIDTH;
    }
  };
  draw(root, 0, 0);
  const top = 40;
  const height = top + (depth + 1) * ROW + 30;
  // Flame: the root at the bottom.
  const body = rects
    .join('\n')
    .replace(/@Y(\d+)@/g, (_, l: string) => String(height - 30 - (Number(l) + 1) * ROW))
    .replace(/@T(\d+)@/g, (_, l: string) => String(height - 30 - Number(l) * ROW - 5));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">
<rect width="100%" height="100%" fill="#fff"/>
<text x="6" y="18" font-size="14" font-family="sans-serif">${escape(title)}</text>
<text x="6" y="34" font-size="11" font-family="sans-serif" fill="#555">width = share of the process's CPU (idle left out); green: this project, red: packages, orange: Node, grey: V8/native. Hover for names and shares.</text>
${body}
<text x="6" y="${height - 10}" font-size="11" font-family="sans-serif" fill="#555">${escape(`${root.total} samples`)}</text>
</svg>
`;
}

/** Self time per function and per origin (package or file), as shares of the CPU. */
function summary(root: Frame, limit = 15): string {
  const functions = new Map<string, number>();
  const origins = new Map<string, number>();
  const walk = (f: Frame) => {
    if (f.self > 0) {
      const key = `${f.name} (${f.where})`;
      functions.set(key, (functions.get(key) ?? 0) + f.self);
      const o = f.where.replace(/:\d+$/, '');
      const group = /^(api|workers|shared)\//.test(o)
        ? o
        : o.split('/')[0] === '@bull-board'
          ? o
          : o;
      origins.set(group, (origins.get(group) ?? 0) + f.self);
    }
    f.children.forEach(walk);
  };
  walk(root);
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([k, v]) => `| ${k} | ${((v / root.total) * 100).toFixed(1)} % |`);
  return [
    '| self time: function (where) | share |',
    '|---|---:|',
    ...rows(functions),
    '',
    '| self time: file or package | share |',
    '|---|---:|',
    ...rows(origins),
  ].join('\n');
}

export function flameGraph(profileJson: string, title: string): { svg: string; summary: string } {
  const profile = JSON.parse(profileJson) as { nodes: ProfileNode[] };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const rootId = profile.nodes[0]?.id;
  if (rootId === undefined) throw new Error('empty profile');
  const root = build(nodes, rootId);
  root.name = 'all';
  root.where = '';
  return { svg: svg(root, title), summary: summary(root) };
}

if (require.main === module) {
  const [input, output, title] = process.argv.slice(2);
  if (input === undefined || output === undefined) {
    process.stderr.write('usage: flame.js <profile.cpuprofile> <out.svg> [title]\n');
    process.exit(2);
  }
  const { svg: picture, summary: text } = flameGraph(
    readFileSync(input, 'utf8'),
    title ?? path.basename(input),
  );
  writeFileSync(output, picture);
  process.stdout.write(`${text}\n`);
}
