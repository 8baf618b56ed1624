import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import {
  ROOT,
  RUNBOOKS,
  anchorsOf,
  loadAlertRules,
  readRunbook,
  runTool,
} from '../harness/runbooks';

/**
 * runbooks/alerts.yml checked by the tool that consumes it: promtool, as Prometheus would load
 * it, and its unit tests (runbooks/tests/*.yml) run by promtool too. CI runs both as steps of
 * their own as well (.ci/run).
 */
const rules = loadAlertRules();
const alertNames = [...new Set(rules.map((r) => r.alert))];
const TESTS = path.join(RUNBOOKS, 'tests');
const testFiles = readdirSync(TESTS)
  .filter((f) => f.endsWith('.yml'))
  .sort()
  .map((f) => path.join('runbooks', 'tests', f));

interface UnitTestFile {
  rule_files: string[];
  tests: {
    name: string;
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] | null }[];
  }[];
}
const unitTests = testFiles.map(
  (file) => [file, parse(readFileSync(path.join(ROOT, file), 'utf8')) as UnitTestFile] as const,
);
const cases = unitTests.flatMap(([, file]) => file.tests.flatMap((t) => t.alert_rule_test ?? []));

describe('runbooks/alerts.yml', () => {
  it('When promtool checks the rule file, then Prometheus would accept every rule', async () => {
    const run = await runTool('promtool', ['check', 'rules', 'runbooks/alerts.yml']);
    expect(run).toEqual({
      code: 0,
      output: expect.stringContaining(`SUCCESS: ${rules.length} rules found`) as unknown,
    });
  });

  it('When promtool checks deploy/prometheus/prometheus.yml with this rule file, then both are valid', async () => {
    const config = parse(
      readFileSync(path.join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8'),
    ) as Record<string, unknown>;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'shop-promtool-'));
    try {
      // The compose file mounts the rules at a container path; here they are the checkout's.
      const file = path.join(dir, 'prometheus.yml');
      writeFileSync(
        file,
        stringify({ ...config, rule_files: [path.join(RUNBOOKS, 'alerts.yml')] }),
      );
      const run = await runTool('promtool', ['check', 'config', file]);
      expect(run).toEqual({
        code: 0,
        output: expect.stringContaining(`SUCCESS: ${rules.length} rules found`) as unknown,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('When promtool runs the unit tests in runbooks/tests, then every case passes', async () => {
    expect(testFiles.length).toBeGreaterThan(0);
    const run = await runTool('promtool', ['test', 'rules', ...testFiles]);
    expect(run.output).not.toContain('FAILED');
    expect(run.code).toBe(0);
  });

  it('Every unit test file tests the project rule file', () => {
    for (const [file, content] of unitTests)
      expect({ file, rule_files: content.rule_files }).toEqual({
        file,
        rule_files: ['../alerts.yml'],
      });
  });

  it('Every alert has a case where it fires and one where it stays silent, and every case names a real alert', () => {
    const firing = new Set(
      cases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname),
    );
    const silent = new Set(
      cases.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname),
    );
    expect(alertNames.filter((name) => !firing.has(name))).toEqual([]);
    expect(alertNames.filter((name) => !silent.has(name))).toEqual([]);
    // A case for a misspelt alert would pass silently: promtool finds no alert of that name.
    expect(cases.map((c) => c.alertname).filter((name) => !alertNames.includes(name))).toEqual([]);
  });

  it('Every rule has a severity and the summary, description and runbook_url annotations', () => {
    const wrong = rules
      .map((r) => ({
        alert: r.alert,
        severity: r.labels?.severity,
        annotations: Object.keys(r.annotations ?? {}).sort(),
      }))
      .filter(
        (r) =>
          !['critical', 'warning'].includes(r.severity ?? '') ||
          r.annotations.join() !== 'description,runbook_url,summary',
      );
    expect(wrong).toEqual([]);
  });

  it('Every runbook_url names an existing runbook file, and an existing heading when it has an anchor', () => {
    const resolves = (url: string) => {
      const [file = '', anchor] = url.split('#');
      return (
        /^runbooks\/[a-z0-9-]+\.md$/.test(file) &&
        existsSync(path.join(ROOT, file)) &&
        (anchor === undefined ||
          anchorsOf(readRunbook(path.relative('runbooks', file))).has(anchor))
      );
    };
    const broken = rules
      .map((r) => ({ alert: r.alert, runbook_url: r.annotations?.runbook_url ?? '' }))
      .filter((r) => !resolves(r.runbook_url));
    expect(broken).toEqual([]);
  });
});
