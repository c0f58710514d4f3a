/**
 * The operator's files of examples/ against the real programs (Debian's `prometheus`
 * package): `promtool check rules` and `promtool test rules` pass, the rule tests fail when
 * an alert is broken, and a real Prometheus scraping the running demo evaluates every rule
 * without error, fires an alert from the demo's events, and answers every query of the
 * Grafana dashboard with data.
 */
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { startDemoProcess, type DemoProcess } from '../helpers/demo-process';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus-server';
import { runCommand } from '../helpers/run-command';
import { tempDir } from '../helpers/temp-dir';
import { waitUntil } from '../helpers/wait-until';

const PROMETHEUS_DIR = resolve(__dirname, '..', '..', 'examples', 'prometheus');
const RULES = join(PROMETHEUS_DIR, 'rules.yml');
const RULE_TESTS = join(PROMETHEUS_DIR, 'rules.test.yml');
const DASHBOARD = resolve(__dirname, '..', '..', 'examples', 'grafana', 'blockyard-dashboard.json');

/** The alert names of rules.yml. */
async function alertNames(): Promise<string[]> {
  return [...(await readFile(RULES, 'utf8')).matchAll(/- alert: (\w+)/g)].map((m) => m[1] as string);
}

describe('promtool and examples/prometheus', () => {
  it('check rules: every recording and alerting rule is valid', async () => {
    const { code, output } = await runCommand('promtool', ['check', 'rules', RULES]);
    expect(output).toContain('SUCCESS: 22 rules found');
    expect(code).toBe(0);
  });

  it('test rules: each alert fires on its synthetic series and stays quiet on a healthy one', async () => {
    const { code, output } = await runCommand('promtool', ['test', 'rules', 'rules.test.yml'], { cwd: PROMETHEUS_DIR });
    expect(output).toContain('SUCCESS');
    expect(output).not.toContain('FAILED');
    expect(code).toBe(0);
  });

  it('tests every alert both ways: at least one case where it fires and one where it stays quiet', async () => {
    const tests = await readFile(RULE_TESTS, 'utf8');
    for (const alert of await alertNames()) {
      const cases = [...tests.matchAll(new RegExp(`alertname: ${alert}\\n\\s*exp_alerts:(.*)`, 'g'))].map((m) =>
        (m[1] as string).trim(),
      );
      expect([alert, cases.some((c) => c.startsWith('[]'))]).toEqual([alert, true]);
      expect([alert, cases.some((c) => c === '')]).toEqual([alert, true]);
    }
  });

  it('the rule tests have teeth: an alert with a broken threshold fails them', async () => {
    const dir = await tempDir('blockyard-rules-');
    try {
      const rules = await readFile(RULES, 'utf8');
      const broken = rules.replace(
        'job_app:blockyard_proxy_requests_5xx:ratio_rate5m > 0.05',
        'job_app:blockyard_proxy_requests_5xx:ratio_rate5m > 0.5',
      );
      expect(broken).not.toBe(rules);
      await writeFile(join(dir.path, 'rules.yml'), broken);
      await copyFile(RULE_TESTS, join(dir.path, 'rules.test.yml'));
      const { code, output } = await runCommand('promtool', ['test', 'rules', 'rules.test.yml'], { cwd: dir.path });
      expect(output).toContain('FAILED');
      expect(output).toContain('alertname: BlockyardHighProxy5xxRatio');
      expect(code).toBe(1);
    } finally {
      await dir.remove();
    }
  });

  it('check config: the sample prometheus.yml is valid and loads the rules', async () => {
    const { code, output } = await runCommand('promtool', ['check', 'config', 'prometheus.yml'], {
      cwd: PROMETHEUS_DIR,
    });
    expect(output).toContain('SUCCESS: 1 rule files found');
    expect(code).toBe(0);
  });
});

describe('a real Prometheus scraping the demo, with the rules loaded', () => {
  let demo: DemoProcess | undefined;
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    demo = startDemoProcess(['--port', '0', '--tick', '50']);
    const { metrics } = await demo.urls();
    prometheus = await startPrometheus({ target: new URL(metrics).host, ruleFiles: [RULES] });
  }, 90_000);

  afterAll(async () => {
    await prometheus?.stop();
    const exit = await demo?.stop('SIGINT');
    expect(exit).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('evaluates every rule without error and fires BlockyardAuditEntriesDropped from the demo', async () => {
    const server = prometheus as PrometheusServer;
    interface Rule {
      name: string;
      health: string;
      lastError?: string;
      type: string;
      state?: string;
    }
    const rules = await waitUntil(
      'every rule to be evaluated',
      async () => {
        const data = await server.get<{ groups: { rules: Rule[] }[] }>('/api/v1/rules');
        const all = data.groups.flatMap((g) => g.rules);
        return all.length === 22 && all.every((r) => r.health !== 'unknown') ? all : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError ?? ''}`)).toEqual([]);
    expect(
      rules
        .filter((r) => r.type === 'alerting')
        .map((r) => r.name)
        .sort(),
    ).toEqual((await alertNames()).sort());

    // The default seed drops audit entries within its first minute; the alert has no `for`.
    await waitUntil(
      'BlockyardAuditEntriesDropped to fire',
      async () => {
        const data = await server.get<{ alerts: { labels: Record<string, string>; state: string }[] }>(
          '/api/v1/alerts',
        );
        return data.alerts.some((a) => a.labels.alertname === 'BlockyardAuditEntriesDropped' && a.state === 'firing')
          ? true
          : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // A recording rule, per app, from the demo's requests.
    const perApp = await waitUntil(
      'job_app:blockyard_proxy_requests:rate5m to be recorded',
      async () => {
        const result = await server.query('job_app:blockyard_proxy_requests:rate5m');
        return result.length > 1 ? result : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(perApp.map((s) => s.metric.app)).toContain('unknown');
  }, 60_000);

  it('answers every query of the Grafana dashboard, and every variable, with data', async () => {
    const server = prometheus as PrometheusServer;
    interface Panel {
      title?: string;
      targets?: { expr: string }[];
      panels?: Panel[];
    }
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as {
      panels: Panel[];
      templating: { list: { type: string; query?: { query?: string } }[] };
    };
    const flat = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...flat(p.panels ?? [])]);
    // Grafana's variables as Grafana would expand them for "All" and a short range.
    const expand = (expr: string): string =>
      expr.replace(/\$(job|instance|app)\b/g, '.*').replace(/\$__rate_interval/g, '10s');
    const queries = flat(dashboard.panels).flatMap((p) =>
      (p.targets ?? []).map((t) => ({ title: p.title, expr: expand(t.expr) })),
    );
    expect(queries.length).toBeGreaterThan(20);
    for (const { title, expr } of queries) {
      await waitUntil(
        `data for "${title}": ${expr}`,
        async () => ((await server.query(expr)).length > 0 ? true : undefined),
        { timeoutMs: 20_000, intervalMs: 250 },
      );
    }
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const m = /^label_values\((.*), (\w+)\)$/.exec(v.query?.query ?? '');
      expect(m).not.toBeNull();
      const [, selector, label] = m as RegExpExecArray;
      const values = await server.get<string[]>(
        `/api/v1/label/${label}/values?match[]=${encodeURIComponent(expand(selector as string))}`,
      );
      expect([label, values.length > 0]).toEqual([label, true]);
    }
  }, 90_000);
});
