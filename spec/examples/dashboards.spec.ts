/**
 * The operator's files in examples/: the Grafana dashboard and the Prometheus rules speak the
 * metric contract exactly, so they work unchanged against this library and the Go server, and
 * use the tracker's opt-in collectors only by their fixed names, labels and values.
 * (`promtool check rules` / `test rules` run in spec/e2e/rules.e2e.spec.ts.)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { STATUS_CLASSES, STOP_REASONS, WORKER_STATES } from '../../lib';
import { CONTRACT, OPT_IN, OPT_IN_VALUES } from '../helpers/contract';

const EXAMPLES = resolve(__dirname, '..', '..', 'examples');
const DASHBOARD_FILE = resolve(EXAMPLES, 'grafana', 'blockyard-dashboard.json');
const RULES_FILE = resolve(EXAMPLES, 'prometheus', 'rules.yml');

interface Target {
  readonly expr?: string;
  readonly refId?: string;
  readonly datasource?: { type?: string; uid?: string };
}
interface Panel {
  readonly id?: number;
  readonly type?: string;
  readonly title?: string;
  readonly datasource?: { type?: string; uid?: string };
  readonly targets?: Target[];
  readonly panels?: Panel[];
  readonly gridPos?: { h: number; w: number; x: number; y: number };
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { query?: string };
}
interface Dashboard {
  readonly title: string;
  readonly uid: string;
  readonly panels: Panel[];
  readonly templating: { list: Variable[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

/** Every panel, rows' nested panels included. */
function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}
const panels = allPanels(dashboard.panels);
const queryPanels = panels.filter((p) => p.type !== 'row');
const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
const variableQueries = dashboard.templating.list
  .filter((v) => v.type === 'query')
  .map((v) => (typeof v.query === 'string' ? v.query : (v.query?.query ?? '')));

/** The series a metric is scraped as (a histogram's _bucket, _sum and _count). */
const seriesOf = (c: { readonly name: string; readonly type: string }): string[] =>
  c.type === 'histogram' ? [`${c.name}_bucket`, `${c.name}_sum`, `${c.name}_count`] : [c.name];
/** The contract's series and the opt-in collectors' (shared/CONTRACT.md). */
const SERIES_NAMES = new Set([...CONTRACT, ...OPT_IN].flatMap(seriesOf));
const KNOWN_LABELS = new Set([...CONTRACT, ...OPT_IN].flatMap((c) => c.labels));
/** Labels a query may use besides the collectors': Prometheus's target labels and `le`. */
const ALLOWED_LABELS = new Set([...KNOWN_LABELS, 'le', 'job', 'instance']);
const BOUNDED_VALUES: Readonly<Record<string, readonly string[]>> = {
  state: WORKER_STATES,
  reason: STOP_REASONS,
  status: STATUS_CLASSES,
  ...OPT_IN_VALUES,
};

/** The metric names a PromQL text uses: identifiers starting `blockyard_` (no recording rules). */
function metricNames(promql: string): string[] {
  return [...promql.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((name) => name.startsWith('blockyard_'));
}

/** Problems of one PromQL text against the contract: names, label names, bounded values. */
function contractProblems(promql: string): string[] {
  const problems: string[] = [];
  for (const name of metricNames(promql)) {
    if (!SERIES_NAMES.has(name)) problems.push(`unknown metric ${name}`);
  }
  for (const [, label, value] of promql.matchAll(/([a-zA-Z_]+)\s*(?:=|!=|=~|!~)\s*"([^"]*)"/g)) {
    if (!ALLOWED_LABELS.has(label as string)) problems.push(`unknown label ${label}`);
    const bounded = BOUNDED_VALUES[label as string];
    if (
      bounded !== undefined &&
      !value?.includes('$') &&
      !(value as string).split('|').every((v) => bounded.includes(v))
    ) {
      problems.push(`${label}="${value}" is not one of ${bounded.join(', ')}`);
    }
  }
  for (const [, list] of promql.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g)) {
    for (const label of (list as string)
      .split(',')
      .map((l) => l.trim())
      .filter((l) => l !== '')) {
      if (!ALLOWED_LABELS.has(label)) problems.push(`unknown label ${label} in a grouping`);
    }
  }
  return problems;
}

describe('the contract check used below', () => {
  it('knows the opt-in collectors, their labels and their bounded values', () => {
    expect(
      contractProblems(
        'sum by (app, state) (blockyard_app_workers{state="busy"}) + sum by (from, to) (rate(blockyard_worker_transitions_total{from="none", to!="none"}[5m]))',
      ),
    ).toEqual([]);
    expect(contractProblems('blockyard_tracker_reconcile_duration_seconds_bucket{le="0.001"}')).toEqual([]);
    expect(
      contractProblems(
        'blockyard_worker_transitions_total{from="gone"} + blockyard_tracker_errors_total{origin="disk"}',
      ),
    ).toEqual([
      'from="gone" is not one of none, busy, idle, draining',
      'origin="disk" is not one of snapshot, event, source, tick, subscriber, bound',
    ]);
    expect(contractProblems('blockyard_app_worker{app="a"}')).toEqual(['unknown metric blockyard_app_worker']);
  });

  it('catches a wrong name, an unknown label, a value outside a bounded set and a grouping label', () => {
    expect(contractProblems('sum by (pod) (rate(blockyard_worker_spawned_total{reason="oom", zone="a"}[5m]))')).toEqual(
      [
        'unknown metric blockyard_worker_spawned_total',
        'reason="oom" is not one of graceful, crashed, idle_timeout',
        'unknown label zone',
        'unknown label pod in a grouping',
      ],
    );
    expect(contractProblems('blockyard_workers{state=~"busy|starting"}')).toEqual([
      'state="busy|starting" is not one of busy, idle, draining',
    ]);
    expect(contractProblems('histogram_quantile(0.9, sum by (le) (rate(blockyard_build_seconds_bucket[1h])))')).toEqual(
      [],
    );
  });
});

describe('the Grafana dashboard (examples/grafana)', () => {
  it('is a dashboard with a title, a uid and panels', () => {
    expect(dashboard.title).toMatch(/blockyard/);
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(queryPanels.length).toBeGreaterThanOrEqual(CONTRACT.length);
  });

  it('has a Prometheus datasource variable that every panel and query uses', () => {
    const ds = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(ds).toMatchObject({ name: 'datasource', query: 'prometheus' });
    for (const p of queryPanels) {
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const t of p.targets ?? []) expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  it('queries every metric of the contract, and every opt-in collector, in some panel', () => {
    const used = new Set(exprs.flatMap(metricNames).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    expect([...CONTRACT, ...OPT_IN].map((c) => c.name).filter((name) => !used.has(name))).toEqual([]);
  });

  it('has a per-app row of workers by app and state, and a tracker-health row', () => {
    const rows = panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(
      expect.arrayContaining(['Workers by app (byApp, countTransitions)', 'Tracker health (selfMetrics)']),
    );
    const byApp = queryPanels.find((p) => p.title === 'Workers by app and state') as Panel;
    expect(byApp.targets?.[0]?.expr).toMatch(/^sum by \(app, state\) \(blockyard_app_workers\{.*app=~"\$app"\}\)$/);
    expect(JSON.stringify(byApp)).toMatch(/"stacking":\{"mode":"normal"/);
    const health = queryPanels
      .filter((p) => (p.gridPos?.y ?? 0) > 61)
      .flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    for (const name of OPT_IN.filter((c) => c.option === 'selfMetrics').map((c) => c.name)) {
      expect([name, health.some((e) => e?.includes(name))]).toEqual([name, true]);
    }
  });

  it('uses only contract and opt-in metric names, labels and label values in every query and variable', () => {
    for (const expr of [...exprs, ...variableQueries]) expect([expr, contractProblems(expr)]).toEqual([expr, []]);
  });

  it('gives every panel a unique id, a grid position on the 24-column grid, and every query a refId', () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) {
      expect(p.gridPos).toBeDefined();
      const g = p.gridPos as NonNullable<Panel['gridPos']>;
      expect(g.x + g.w).toBeLessThanOrEqual(24);
      expect(g.h).toBeGreaterThan(0);
    }
    for (const p of queryPanels) {
      expect(p.targets?.length).toBeGreaterThan(0);
      const refs = (p.targets ?? []).map((t) => t.refId);
      expect(new Set(refs).size).toBe(refs.length);
      for (const t of p.targets ?? []) expect(t.expr).toMatch(/\S/);
    }
  });

  it('shows workers by state stacked, and splits requests by app and by status class', () => {
    const byTitle = (re: RegExp): Panel => queryPanels.find((p) => re.test(p.title ?? '')) as Panel;
    const states = byTitle(/^Workers by state$/);
    expect(states.targets?.[0]?.expr).toMatch(/sum by \(state\) \(blockyard_workers\{/);
    expect(JSON.stringify(states)).toMatch(/"stacking":\{"mode":"normal"/);
    expect(byTitle(/by app$/).targets?.[0]?.expr).toMatch(/sum by \(app\)/);
    expect(byTitle(/by status class$/).targets?.[0]?.expr).toMatch(/sum by \(status\)/);
  });
});

describe('the Prometheus rules (examples/prometheus/rules.yml)', () => {
  const text = readFileSync(RULES_FILE, 'utf8');
  // The PromQL of each rule: the `expr:` lines and the block lines under `expr: |`.
  const promql = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .split(/\n\s*-?\s*(?:alert|record):/)
    .map((rule) => /expr:\s*(\|\n(?:\s{10,}.*\n?)+|.*)/.exec(rule)?.[1] ?? '')
    .filter((expr) => expr !== '');

  it('has the recording rules and every alert the operator needs', () => {
    for (const alert of [
      'BlockyardWorkerCrashLoop',
      'BlockyardHighProxy5xxRatio',
      'BlockyardBundleRestoresFailing',
      'BlockyardAuditEntriesDropped',
      'BlockyardSlowColdStarts',
      'BlockyardScrapeFailing',
      'BlockyardTargetMissing',
      'BlockyardNoWorkers',
      'BlockyardTrackerStale',
      'BlockyardInvalidWorkerRecords',
      'BlockyardWorkersFlapping',
    ]) {
      expect(text).toContain(`- alert: ${alert}\n`);
    }
    expect(text).toContain('- record: job_app:blockyard_proxy_requests:rate5m\n');
    expect(text).toContain('- record: job_app:blockyard_proxy_requests_5xx:ratio_rate5m\n');
    expect(text).toContain('- record: job:blockyard_cold_start_seconds:p95_rate30m\n');
  });

  it('uses only contract and opt-in metric names, labels and label values', () => {
    expect(promql.length).toBeGreaterThanOrEqual(22);
    for (const expr of promql) expect([expr, contractProblems(expr)]).toEqual([expr, []]);
    expect(text).toContain('reason="crashed"');
    expect(text).toContain('status="5xx"');
  });
});
