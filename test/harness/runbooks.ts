import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** The repository root, and the folder of the runbooks and their alert rules. */
export const ROOT = path.resolve(__dirname, '../..');
export const RUNBOOKS = path.join(ROOT, 'runbooks');

export interface AlertRule {
  group: string;
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Every alerting rule of runbooks/alerts.yml, with its group's name. */
export function loadAlertRules(): AlertRule[] {
  const file = parse(readFileSync(path.join(RUNBOOKS, 'alerts.yml'), 'utf8')) as {
    groups: { name: string; rules: Omit<AlertRule, 'group'>[] }[];
  };
  return file.groups.flatMap((g) => g.rules.map((r) => ({ ...r, group: g.name })));
}

/** Markdown files under runbooks/ (incidents included), relative to it. */
export function runbookFiles(): string[] {
  return readdirSync(RUNBOOKS, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .sort();
}

export const readRunbook = (file: string): string =>
  readFileSync(path.join(RUNBOOKS, file), 'utf8');

/** A heading's anchor as GitHub renders it: lower case, punctuation dropped, spaces → "-". */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file's headings (outside fenced code). */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (heading?.[1] !== undefined) anchors.add(slug(heading[1]));
  }
  return anchors;
}

export interface ToolRun {
  code: number;
  output: string;
}

/**
 * Runs an outside tool (promtool) from the repository root. A missing binary fails with a
 * message saying how to get it, never as a pass.
 */
export function runTool(command: string, args: string[]): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: ROOT, timeout: 120_000 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(
          new Error(
            `${command} is not installed: apt-get install prometheus (.ci/run installs it)`,
          ),
        );
        return;
      }
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output });
    });
  });
}
