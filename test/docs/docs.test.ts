import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ENV_KEYS } from '../../shared/config';
import { exportedSeries, readText, ROOT } from '../deploy/support';
import { brokenLinks, folderReadmes, markdownFiles, prose, withoutFences } from './markdown';

/**
 * The documentation against the code: what the README promises about itself, links that
 * resolve, every setting documented, and nothing that speaks of one particular machine or
 * copies figures that belong in load/REPORT.md.
 */

const README = 'README.md';
const readme = readText(README);
/** README.md and docs/*.md: the documents that must not carry figures or machine talk. */
const guides = [path.join(ROOT, README), ...markdownFiles(path.join(ROOT, 'docs'))];
const linked = [...new Set([...guides, ...folderReadmes(ROOT)])];
const rel = (file: string) => path.relative(ROOT, file);

describe('README.md', () => {
  test('has at most 200 lines', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(200);
  });

  test('opens with the two commands: npm ci && npm start, then npm test', () => {
    const [title = '', ...rest] = readme.split('\n');
    expect(title).toMatch(/^# \S/);
    const body = rest.join('\n').trimStart();
    const block = /^```sh\n([\s\S]*?)\n```/.exec(body);
    expect(block).not.toBeNull();
    const commands = (block?.[1] ?? '').split('\n').map((line) => line.split('#')[0]?.trim());
    expect(commands).toEqual(['npm ci && npm start', 'npm test']);
  });

  test('lists every npm script of package.json in its scripts table', () => {
    const scripts = z
      .object({ scripts: z.record(z.string(), z.string()) })
      .parse(JSON.parse(readText('package.json'))).scripts;
    const table = readme.split('\n').filter((line) => line.startsWith('| `npm '));
    for (const name of Object.keys(scripts)) {
      const spelled = name === 'start' || name === 'test' ? `npm ${name}` : `npm run ${name}`;
      expect({
        name,
        listed: table.some((row) => new RegExp(`\`${spelled}\\b`).test(row)),
      }).toEqual({ name, listed: true });
    }
  });

  test('maps every document in docs/ and the database design', () => {
    const map = readme.slice(readme.indexOf('## Documentation'));
    for (const file of [...markdownFiles(path.join(ROOT, 'docs')).map(rel)]) {
      expect(map).toContain(`](${file})`);
    }
    expect(map).toContain('](shared/db/README.md)');
  });
});

describe('Links in README.md, docs/ and the folder READMEs', () => {
  test('the documents to check are found', () => {
    const names = linked.map(rel);
    expect(names).toEqual(
      expect.arrayContaining([
        README,
        'docs/architecture.md',
        'api/README.md',
        'shared/db/README.md',
      ]),
    );
  });

  test.each(linked.map(rel))('every relative link and anchor in %s resolves', (file) => {
    expect(brokenLinks(path.join(ROOT, file), ROOT)).toEqual([]);
  });
});

describe('docs/configuration.md', () => {
  const text = readText('docs/configuration.md');
  /** Variables documented: the first cell of a table row, `NAME`. */
  const documented = [...text.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm)].map((m) => m[1] ?? '');

  test('documents every variable shared/config.ts reads, once', () => {
    for (const key of ENV_KEYS) {
      expect({ key, rows: documented.filter((name) => name === key).length }).toEqual({
        key,
        rows: 1,
      });
    }
  });

  test('documents no variable that nothing reads', () => {
    const sources = sourceText(['api', 'workers', 'shared', 'cli', 'load', 'test', 'scripts']);
    for (const name of documented.filter((n) => !ENV_KEYS.includes(n))) {
      // A tool's variable: read by name somewhere in the code (process.env.X, ${X...}).
      expect({
        name,
        read: new RegExp(`(process\\.env\\.|\\$\\{)${name}\\b`).test(sources),
      }).toEqual({ name, read: true });
    }
  });
});

describe('README.md and docs/', () => {
  /** Phrases that tie the product to one machine; figures belong in load/REPORT.md. */
  const DENIED: readonly RegExp[] = [
    /\bnode(\.js)? ?20\b/i,
    /\b(2|two)[- ]core/i,
    /\btwo cores\b/i,
    /\bthis (machine|host|box|server)\b/i,
    /\bmachine's\b/i,
    /\d[\d,.]*\s?k?\s?(req|requests|accepts|orders|events|ops)\/s\b/i,
    /\d\s?µs\b/,
  ];

  test.each(guides.map(rel))(
    '%s names no particular machine and copies no measured figure',
    (file) => {
      const text = prose(readText(file));
      const found = DENIED.flatMap((pattern) => pattern.exec(text)?.[0] ?? []);
      expect(found).toEqual([]);
    },
  );

  test.each(guides.map(rel))('%s names only npm scripts that exist', (file) => {
    const scripts = Object.keys(
      z
        .object({ scripts: z.record(z.string(), z.string()) })
        .parse(JSON.parse(readText('package.json'))).scripts,
    );
    for (const m of readText(file).matchAll(/\bnpm run (?:--silent )?([a-z][\w:-]*)/g)) {
      expect(scripts).toContain(m[1]);
    }
  });

  test.each(guides.map(rel))('%s names only metrics the code exports', async (file) => {
    const series = await exportedSeries();
    const named = [
      ...withoutFences(readText(file)).matchAll(/`(shop_[a-z0-9_]+)(\*|\{[^}`]*\})?`/g),
    ];
    for (const [, name = '', suffix] of named) {
      const exists =
        suffix === '*' ? [...series].some((s) => s.startsWith(name)) : series.has(name);
      expect({ metric: name, exists }).toEqual({ metric: name, exists: true });
    }
  });
});

/** The text of every TypeScript and shell source under `folders`, concatenated. */
function sourceText(folders: readonly string[]): string {
  const parts: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'results') continue;
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (/\.(ts|js|sh)$/.test(name) || !name.includes('.'))
        parts.push(readFileSync(file, 'utf8'));
    }
  };
  for (const folder of folders) walk(path.join(ROOT, folder));
  return parts.join('\n');
}
