import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ROOT, loadAlertRules, readRunbook, runbookFiles } from '../harness/runbooks';

/**
 * The runbooks name only what exists: alerts of runbooks/alerts.yml, log messages the code
 * writes, commands the CLI has, configuration defaults shared/config.ts sets, and (in incident
 * reports) rule expressions as the rule file has them now.
 */
const rules = loadAlertRules();
const alertNames = new Set(rules.map((r) => r.alert));
const files = runbookFiles();
const readme = readRunbook('README.md');
/** Each runbook's own files: not the index, the template or incident reports. */
const runbooks = files.filter(
  (f) => !['README.md', 'TEMPLATE.md'].includes(f) && !f.startsWith('incidents/'),
);

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(ROOT, dir, f));
}
const source = ['api', 'workers', 'shared', 'cli']
  .flatMap(sourceFiles)
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');

/** Every message the code logs, as a pattern (`${step.kind} processed` → /^\w+ processed$/). */
const logMessages = [
  ...source.matchAll(/(?:\.(?:info|warn|error|http|debug)|\blog)\(\s*(['`])((?:(?!\1).)*)\1/g),
].map(([, , text = '']) => {
  const pattern = text
    .split(/\$\{[^}]*\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\w-]+');
  return new RegExp(`^${pattern}$`);
});

/** Configuration defaults as shared/config.ts declares them (`NAME: int(...).default(N)`). */
const configDefaults = new Map(
  [
    ...readFileSync(path.join(ROOT, 'shared/config.ts'), 'utf8').matchAll(
      /^\s+([A-Z][A-Z0-9_]+): int\([^)]*\)\.default\(([\d_]+)\)/gm,
    ),
  ].map(([, name = '', value = '']) => [name, Number(value.replace(/_/g, ''))]),
);

const opsCommands = new Set(
  [
    ...readFileSync(path.join(ROOT, 'cli/ops.ts'), 'utf8').matchAll(
      /^ {2}(?:async )?'?([a-z-]+)'?(?:\(|: \()/gm,
    ),
  ].map(([, name = '']) => name),
);
const scripts = new Set(
  Object.keys(
    (
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts,
  ),
);

describe('runbooks/', () => {
  it('Every alert a runbook or incident report names exists in alerts.yml', () => {
    const unknown = files.flatMap((file) =>
      [...readRunbook(file).matchAll(/\bShop[A-Z][A-Za-z0-9]+\b/g)]
        .map(([name]) => name)
        .filter((name) => !alertNames.has(name))
        .map((name) => `${file}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("Every alert is in the README's index, on the row of its runbook, and named in that runbook", () => {
    const missing: string[] = [];
    for (const rule of rules) {
      const file = (rule.annotations?.runbook_url ?? '').replace(/^runbooks\//, '').split('#')[0];
      const row = readme
        .split('\n')
        .find((line) => line.startsWith('|') && line.includes(`(${file})`));
      if (!row?.includes(`\`${rule.alert}\``)) missing.push(`README.md index: ${rule.alert}`);
      if (file === undefined || !existsSync(path.join(ROOT, 'runbooks', file))) continue;
      if (!readRunbook(file).includes(`\`${rule.alert}\``)) missing.push(`${file}: ${rule.alert}`);
    }
    expect(missing).toEqual([]);
  });

  it("Every runbook is in the README's index and every link of the index exists", () => {
    const linked = [...readme.matchAll(/\]\(([a-z0-9-]+\.md)\)/g)].map(([, f = '']) => f);
    expect(runbooks.filter((f) => !linked.includes(f))).toEqual([]);
    expect(linked.filter((f) => !files.includes(f))).toEqual([]);
  });

  it('Every log message a runbook quotes ("message":"…") is one the code writes', () => {
    // A grep -E pattern quotes alternatives: "message":"event DEAD: (a|b)" is two messages.
    const expand = (m: string) => {
      const group = /^(.*?)\(([^()]*)\)(.*)$/.exec(m);
      return group
        ? (group[2] ?? '').split('|').map((alt) => `${group[1] ?? ''}${alt}${group[3] ?? ''}`)
        : [m];
    };
    const quoted = files.flatMap((file) =>
      [...readRunbook(file).matchAll(/"message":"([^"]*)"/g)].flatMap(([, message = '']) =>
        expand(message).map((m) => ({ file, message: m })),
      ),
    );
    const placeholders = (m: string) => m.includes('…') || m.includes('<');
    const real = quoted.filter(({ message }) => !placeholders(message));
    expect(real.length).toBeGreaterThan(5);
    expect(real.filter(({ message }) => !logMessages.some((p) => p.test(message)))).toEqual([]);
  });

  it('Every `npm run` script and `npm run ops --` command a runbook quotes exists', () => {
    const bad = files.flatMap((file) => {
      const text = readRunbook(file);
      const ops = [...text.matchAll(/npm run ops -- ([a-z-]+)/g)]
        .map(([, cmd = '']) => cmd)
        .filter((cmd) => !opsCommands.has(cmd));
      const npm = [...text.matchAll(/npm run (?:--silent )?([a-z][a-z:-]*)/g)]
        .map(([, name = '']) => name)
        .filter((name) => !scripts.has(name));
      return [...ops, ...npm].map((what) => `${file}: ${what}`);
    });
    expect(opsCommands.size).toBeGreaterThan(5);
    expect(bad).toEqual([]);
  });

  it('Every configuration default quoted as `NAME (value)` is the default of shared/config.ts', () => {
    const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000 };
    const wrong = [
      ...files.map((f) => ({ f, text: readRunbook(f) })),
      {
        f: 'alerts.yml',
        text: readFileSync(path.join(ROOT, 'runbooks/alerts.yml'), 'utf8'),
      },
    ].flatMap(({ f, text }) =>
      [
        ...text.matchAll(
          /\b([A-Z][A-Z0-9_]{3,})`?,? \(?(?:default )?(\d[\d,]*(?:\.\d+)?)(?: ?(ms|s|m)\b)?/g,
        ),
      ].flatMap(([quote, name = '', value = '', unit]) => {
        const expected = configDefaults.get(name);
        if (expected === undefined) return [];
        const n = Number(value.replace(/,/g, ''));
        const inMs = unit === undefined ? n : n * (units[unit] ?? 1);
        const actual = name.endsWith('_MS') ? inMs : name.endsWith('_S') ? inMs / 1_000 : n;
        return (unit === undefined ? n : actual) === expected ? [] : [`${f}: ${quote}`];
      }),
    );
    expect(configDefaults.get('DB_BREAKER_RESET_MS')).toEqual(expect.any(Number));
    expect(wrong).toEqual([]);
  });

  it('Every rule expression an incident report quotes (```promql starting "# Alert") is the rule as it is now', () => {
    const normalise = (expr: string) => expr.replace(/\s+/g, ' ').trim();
    const quoted = files
      .filter((f) => f.startsWith('incidents/'))
      .flatMap((file) =>
        [...readRunbook(file).matchAll(/```promql\n# (Shop\w+)\n([\s\S]*?)```/g)].map(
          ([, alert = '', expr = '']) => ({ file, alert, expr: normalise(expr) }),
        ),
      );
    expect(quoted.length).toBeGreaterThan(0);
    const current = (alert: string) =>
      rules.filter((r) => r.alert === alert).map((r) => normalise(r.expr));
    expect(quoted.filter((q) => !current(q.alert).includes(q.expr))).toEqual([]);
  });
});
