/**
 * The demo's live page in Debian's headless Chromium (playwright-core, installed by .ci/run):
 * the numbers and the chart update from the event stream without a reload, the transitions
 * list fills, the text alternatives are there, and the page breaks no rule of its own
 * Content-Security-Policy.
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
}

/** The little of the DOM `shown` reads (the tests compile without the DOM library). */
interface PageDocument {
  getElementById(id: string): { textContent: string | null; getAttribute(name: string): string | null } | null;
  querySelectorAll(selector: string): { length: number };
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
    // One navigation: the first load. Everything since came over the event stream.
    expect(navigations).toBe(1);
    expect(problems).toEqual([]);
  }, 90_000);

  it('gives screen readers live numbers, a labelled chart with a text description, and a table', async () => {
    const shownPage = page as Page;
    expect(await shownPage.getAttribute('#numbers', 'aria-live')).toBe('polite');
    expect(await shownPage.getAttribute('#chart', 'role')).toBe('img');
    const description = await shownPage.textContent('#chart-desc');
    expect(description).toMatch(/busy between \d+ and \d+, now \d+/);
    const headers = await shownPage.$$eval(
      'table thead th',
      (ths: readonly { readonly textContent: string | null }[]) => ths.map((th) => th.textContent),
    );
    expect(headers).toEqual(['Time', 'Busy', 'Idle', 'Draining', 'Sessions']);
    expect(await shownPage.title()).toBe('blockyard-telemetry demo');
    expect(problems).toEqual([]);
  });
});
