import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Markdown as the docs tests read it: prose without code, links, heading anchors. */

/** Folders that hold no documentation of ours. */
const SKIPPED = new Set(['node_modules', 'dist', 'coverage', 'results', '.git']);

/** `README.md` of every folder of the repository (the top level's included). */
export function folderReadmes(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && !SKIPPED.has(entry.name)) walk(path.join(dir, entry.name));
      else if (entry.isFile() && entry.name === 'README.md') found.push(path.join(dir, entry.name));
    }
  };
  walk(root);
  return found.sort();
}

/** Every `.md` file directly in `dir`, absolute. */
export function markdownFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join(dir, name))
    .filter((file) => statSync(file).isFile())
    .sort();
}

/** The text with fenced code blocks blanked (line count kept), so `# comment` is no heading. */
export function withoutFences(text: string): string {
  let fence: string | null = null;
  return text
    .split('\n')
    .map((line) => {
      const marker = /^\s*(```|~~~)/.exec(line)?.[1];
      if (marker && (fence === null || fence === marker)) {
        fence = fence === null ? marker : null;
        return '';
      }
      return fence === null ? line : '';
    })
    .join('\n');
}

/** Prose only: no fenced blocks, no inline code spans. */
export function prose(text: string): string {
  return withoutFences(text).replace(/`[^`\n]*`/g, '');
}

/** Link targets of inline links, images and reference definitions, in order. */
export function linkTargets(text: string): string[] {
  const body = prose(text);
  const targets: string[] = [];
  for (const m of body.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    targets.push(m[1] ?? '');
  }
  for (const m of body.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) {
    targets.push(m[1] ?? '');
  }
  return targets;
}

/** A target with a scheme (`https:`, `mailto:`) leaves the repository: not checked here. */
export const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

/**
 * The anchor GitHub gives a heading: formatting and punctuation dropped, lower case, each
 * space a hyphen (so `a -- b` keeps its hyphens: `a----b`).
 */
export function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor a file offers: heading slugs (repeats get `-1`, `-2`) and explicit ids. */
export function anchors(text: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  const body = withoutFences(text);
  for (const m of body.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = slug(m[1] ?? '');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    found.add(count === 0 ? base : `${base}-${count}`);
  }
  for (const m of body.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(m[1] ?? '');
  return found;
}

/** A broken link, said so that the message names the file and what is wrong. */
export interface BrokenLink {
  file: string;
  target: string;
  problem: string;
}

/**
 * Checks every relative link of `file`: it stays inside `root`, its file exists, and its
 * anchor, if any, is a heading or id of the target.
 */
export function brokenLinks(file: string, root: string): BrokenLink[] {
  const text = readFileSync(file, 'utf8');
  const rel = path.relative(root, file);
  const broken: BrokenLink[] = [];
  for (const target of linkTargets(text)) {
    if (isExternal(target)) continue;
    const [pathPart = '', anchor] = target.split('#', 2);
    const resolved = pathPart === '' ? file : path.resolve(path.dirname(file), decodeURI(pathPart));
    const inRepo = path.relative(root, resolved);
    const problem = (message: string) => broken.push({ file: rel, target, problem: message });
    if (inRepo.startsWith('..') || path.isAbsolute(inRepo)) {
      problem('points outside the repository');
      continue;
    }
    if (!existsSync(resolved)) {
      problem('no such file');
      continue;
    }
    if (anchor === undefined || anchor === '') continue;
    if (!resolved.endsWith('.md')) {
      problem('anchor on a file that is not Markdown');
      continue;
    }
    if (!anchors(readFileSync(resolved, 'utf8')).has(anchor)) problem(`no heading #${anchor}`);
  }
  return broken;
}
