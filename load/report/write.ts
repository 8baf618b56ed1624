import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildCharts } from './charts';
import { toHtml, toMarkdown } from './document';
import { reportBlocks } from './summary';
import type { RunReport } from './types';

/**
 * Writes a run's results into `dir`: `result.json` (the whole report, autocannon's results
 * and the per-second samples included), `summary.md`, one SVG per chart and `report.html`
 * with the charts inline. Returns the files written.
 */
export function writeReport(dir: string, report: RunReport): string[] {
  mkdirSync(dir, { recursive: true });
  const charts = buildCharts(report);
  const blocks = reportBlocks(report, charts);
  const files: [string, string][] = [
    ['result.json', `${JSON.stringify(report, null, 2)}\n`],
    ['summary.md', toMarkdown(blocks)],
    ...charts.map((chart): [string, string] => [chart.file, chart.svg]),
    ['report.html', toHtml(`Load run: ${report.scenario.name}`, blocks)],
  ];
  for (const [name, content] of files) writeFileSync(path.join(dir, name), content);
  return files.map(([name]) => path.join(dir, name));
}
