/**
 * The demo's live page in Debian's headless Chromium (playwright-core, installed by .ci/run):
 * the numbers and the chart update from the event stream without a reload, the transitions
 * list and the per-app table fill, the text alternatives are there, and the page breaks no rule
 * of its own Content-Security-Policy.
 */
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startDemoProcess, type DemoProcess } from '../helpers/demo-process';
import { tempDir, type TempDir } from '../helpers/temp-dir';
import { waitUntil } from '../helpers/wait-until';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** What the page shows now. */
interface Shown {
  readonly numbers: string;
  readonly points: number;
  readonly busyArea: string;
  readonly transitions: number;
  readonly tableRows: number;
  readonly status: string;
  /** The per-app table: each row's app and numbers (busy, idle, draining, sessions), and its bar. */
  readonly apps: readonly { readonly app: string; readonly numbers: readonly number[]; readonly bar: string }[];
}

/** The little of the DOM `shown` reads (the tests compile without the DOM library). */
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  readonly style: { readonly width: string };
}
interface PageDocument {
  getElementById(id: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
}

function shown(page: Page): Promise<Shown> {
  return page.evaluate(() => {
    const document = (globalThis as unknown as { document: PageDocument }).document;
    const text = (id: string): string => document.getElementById(id)?.textContent ?? '';
    return {
      numbers: ['busy', 'idle', 'draining', 'sessions', 'workers'].map((k) => text(`n-${k}`)).join(' '),
      points: Number(document.getElementById('chart')?.getAttribute('data-points') ?? '0'),
      busyArea: document.getElementById('area-busy')?.getAttribute('points') ?? '',
      transitions: document.querySelectorAll('#transitions li time').length,
      tableRows: document.querySelectorAll('#table-body tr').length,
      status: text('status'),
      apps: [...document.querySelectorAll('#apps-body tr')]
        .filter((tr) => tr.querySelectorAll('th').length > 0)
        .map((tr) => ({
          app: [...tr.querySelectorAll('th')][0]?.textContent ?? '',
          numbers: [...tr.querySelectorAll('td')].slice(0, 4).map((td) => Number(td.textContent)),
          bar: [...tr.querySelectorAll('.bar span')].map((span) => span.style.width).join(' '),
        })),
    };
  });
}

describe('the live page in headless Chromium', () => {
  let demo: DemoProcess | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  let profile: TempDir | undefined;
  const problems: string[] = [];

  beforeAll(async () => {
    demo = startDemoProcess(['--port', '0', '--tick', '100']);
    profile = await tempDir('blockyard-chromium-');
    context = await chromium.launchPersistentContext(profile.path, {
      executablePath: '/usr/bin/chromium',
      args: CHROMIUM_ARGS,
      headless: true,
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    const exit = await demo?.stop('SIGINT');
    await profile?.remove();
    expect(exit).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('updates the numbers and the chart as ticks arrive, without a reload', async () => {
    const { page: url } = await (demo as DemoProcess).urls();
    page = await (context as BrowserContext).newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    let navigations = 0;
    page.on('framenavigated', () => (navigations += 1));
    await page.goto(url);
    const live = page;

    const first = await waitUntil(
      'the first counts on the page',
      async () => {
        const s = await shown(live);
        return s.points >= 2 && !s.numbers.includes('–') ? s : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(first.status).toMatch(/^Live/);
    expect(first.busyArea).toMatch(/^[\d.]+,[\d.]+( [\d.]+,[\d.]+)+$/);

    const later = await waitUntil(
      'the numbers and the chart to change',
      async () => {
        const s = await shown(live);
        return s.points > first.points && s.numbers !== first.numbers && s.busyArea !== first.busyArea ? s : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(later.tableRows).toBeGreaterThan(1);
    await waitUntil('a transition in the list', async () => ((await shown(live)).transitions > 0 ? true : undefined), {
      timeoutMs: 20_000,
    });
    // The per-app table: the demo's four apps at most, its rows adding up to the numbers shown
    // for the whole server at the same tick, each with a bar of its workers.
    const byApp = await shown(live);
    expect(byApp.apps.length).toBeGreaterThan(0);
    expect(byApp.apps.length).toBeLessThanOrEqual(4);
    const [busy, idle, draining, sessions] = byApp.numbers.split(' ').map(Number);
    const column = (k: number): number => byApp.apps.reduce((n, a) => n + (a.numbers[k] as number), 0);
    expect([column(0), column(1), column(2), column(3)]).toEqual([busy, idle, draining, sessions]);
    for (const a of byApp.apps) expect(a.bar).toMatch(/^[\d.]+% [\d.]+% [\d.]+%$/);
    // One navigation: the first load. Everything since came over the event stream.
    expect(navigations).toBe(1);
    expect(problems).toEqual([]);
  }, 90_000);

  it('gives screen readers live numbers, a labelled chart with a text description, and tables', async () => {
    const shownPage = page as Page;
    expect(await shownPage.getAttribute('#numbers', 'aria-live')).toBe('polite');
    expect(await shownPage.getAttribute('#chart', 'role')).toBe('img');
    const description = await shownPage.textContent('#chart-desc');
    expect(description).toMatch(/busy between \d+ and \d+, now \d+/);
    const headersOf = (selector: string): Promise<(string | null)[]> =>
      shownPage.$$eval(selector, (ths: readonly { readonly textContent: string | null }[]) =>
        ths.map((th) => th.textContent),
      );
    expect(await headersOf('details table thead th')).toEqual(['Time', 'Busy', 'Idle', 'Draining', 'Sessions']);
    // The per-app table's bars are hidden from screen readers; its last header names them.
    expect(await headersOf('#apps thead th')).toEqual([
      'App',
      'Busy',
      'Idle',
      'Draining',
      'Sessions',
      'Workers by state',
    ]);
    expect(await shownPage.getAttribute('#apps-body .bar', 'aria-hidden')).toBe('true');
    expect(await shownPage.title()).toBe('blockyard-telemetry demo');
    expect(problems).toEqual([]);
  });
});
