/**
 * docs/monitoring: the Prometheus alert rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`), and every expression there and in the Grafana dashboard names only
 * metrics relevo exposes (the names of a real registry, src/observability/metrics.ts).
 * promtool comes with Debian's prometheus package; without it the promtool checks skip, except
 * in CI (RELEVO_REQUIRE_POSTGRES=1), where they fail.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import type { Store } from '../../src/storage/store.js';

const DIR = resolve(import.meta.dirname, '../../docs/monitoring');
const RULES = join(DIR, 'relevo-alerts.yml');
const RULE_TESTS = join(DIR, 'relevo-alerts.test.yml');
const DASHBOARD = join(DIR, 'grafana-dashboard.json');

const havePromtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
const required = process.env.RELEVO_REQUIRE_POSTGRES === '1';

describe('promtool', () => {
  it.skipIf(!havePromtool && !required)('checks the alert rules and runs their unit tests', () => {
    expect(havePromtool, 'promtool is required in CI: apt-get install prometheus').toBe(true);
    const check = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('SUCCESS: 5 rules found');
    const tests = spawnSync('promtool', ['test', 'rules', RULE_TESTS], { encoding: 'utf8', cwd: DIR });
    expect(tests.status, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toContain('SUCCESS');
  });
});

/** Every sample name the registry can expose (a histogram's _bucket, _sum and _count). */
async function exposedNames(): Promise<Set<string>> {
  // Only what the constructor and a scrape touch; PostgreSQL's pool gauge is included.
  const store = {
    onCommitted: () => undefined,
    poolStats: () => ({ total: 2, idle: 1, waiting: 0 }),
    queries: {
      operations: { outboxGauges: async () => ({ pending: 0, oldestPendingAt: undefined, dead: 0 }) },
    },
  } as unknown as Store;
  const metrics = new Metrics(store);
  const names = new Set<string>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'irate',
  'increase',
  'delta',
  'deriv',
  'histogram_quantile',
  'by',
  'without',
  'on',
  'ignoring',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'clamp_min',
  'clamp_max',
  'topk',
  'bottomk',
  'abs',
  'vector',
  'scalar',
]);

/** The metric names an expression reads: what is left once strings, matchers and groupings go. */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return (bare.match(/[A-Za-z_:][A-Za-z0-9_:]*/g) ?? []).filter((w) => !PROMQL_WORDS.has(w));
}

/** The `expr:` values of a rules file, folded scalars (`>-`) included. */
function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split('\n');
  const out: string[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (m === null) return;
    const indent = (m[1] ?? '').length;
    if (!/^[>|]-?$/.test(m[2] ?? '')) {
      out.push(m[2] ?? '');
      return;
    }
    const body: string[] = [];
    for (const next of lines.slice(i + 1)) {
      if (next.trim() !== '' && next.length - next.trimStart().length <= indent) break;
      body.push(next.trim());
    }
    out.push(body.join(' '));
  });
  return out;
}

describe('expressions', () => {
  it('the dashboard parses and every panel query reads only metrics relevo exposes', async () => {
    const names = await exposedNames();
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      uid: string;
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    expect(dashboard.uid).toBe('relevo-overview');
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    for (const expr of exprs) {
      const used = metricsIn(expr);
      expect(used.length, expr).toBeGreaterThan(0);
      for (const name of used) expect(names, `${name} in ${expr}`).toContain(name);
    }
    // Every relevo_ metric of the spec is on the dashboard.
    const shown = new Set(exprs.flatMap(metricsIn).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    for (const name of names)
      if (name.startsWith('relevo_') && !/_(bucket|sum|count)$/.test(name)) expect(shown).toContain(name);
  });

  it('every alert rule reads only metrics relevo exposes', async () => {
    const names = await exposedNames();
    const exprs = ruleExpressions(readFileSync(RULES, 'utf8'));
    expect(exprs).toHaveLength(5);
    for (const expr of exprs) {
      const used = metricsIn(expr);
      expect(used.length, expr).toBeGreaterThan(0);
      for (const name of used) expect(names, `${name} in ${expr}`).toContain(name);
    }
  });

  it('the check catches a metric that does not exist', async () => {
    const names = await exposedNames();
    expect(metricsIn('sum(rate(relevo_http_requests_totl{status=~"5.."}[5m])) by (route)')).toEqual([
      'relevo_http_requests_totl',
    ]);
    expect(names.has('relevo_http_requests_totl')).toBe(false);
  });
});
