/**
 * The demo's live page: one HTML document with its style and script inline, so it needs no
 * dependency, no CDN and no network beyond the demo itself.
 *
 * The script listens to `/events` (Server-Sent Events, see `page.ts`) and redraws a stacked
 * SVG chart of busy / idle / draining workers, the current numbers, a table of the latest
 * values (the chart's text alternative), the workers of each app (from `countsByApp$`) and the
 * latest worker transitions, without a reload.
 * The style and script are hashed into a Content-Security-Policy that allows nothing else.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';

/** Points the chart keeps: the last two minutes at the default tick. */
export const CHART_POINTS = 120;
/** Transitions the page lists, newest first. */
export const LISTED_TRANSITIONS = 15;

const STYLE = `
:root { color-scheme: light dark; --busy: #2f6fd0; --idle: #4f9a2a; --draining: #d07a00; --fg: #1b1f24; --muted: #5b636e; --bg: #fff; --grid: #d8dde3; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ed; --muted: #a4acb7; --bg: #14171a; --grid: #3a4047; --busy: #6ea2f0; --idle: #7cc45a; --draining: #f0a23c; } }
body { font: 16px/1.45 system-ui, sans-serif; margin: 0 auto; padding: 1rem; max-width: 60rem; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin: 1.25rem 0 .5rem; }
header p { margin: .25rem 0; color: var(--muted); } a { color: var(--busy); }
#status { font-weight: 600; } #status.live { color: var(--idle); } #status.down { color: var(--draining); }
#numbers { display: flex; flex-wrap: wrap; gap: .75rem; margin: 0; }
#numbers div { border: 1px solid var(--grid); border-left: 6px solid var(--muted); border-radius: 6px; padding: .4rem .8rem; min-width: 7rem; }
#numbers div.busy { border-left-color: var(--busy); } #numbers div.idle { border-left-color: var(--idle); } #numbers div.draining { border-left-color: var(--draining); }
#numbers dt { font-size: .85rem; color: var(--muted); } #numbers dd { margin: 0; font-size: 1.6rem; font-variant-numeric: tabular-nums; }
figure { margin: 0; } svg { width: 100%; height: auto; display: block; }
.grid { stroke: var(--grid); stroke-width: 1; } .axis { fill: var(--muted); font-size: 11px; }
polygon.busy, .swatch.busy { fill: var(--busy); background: var(--busy); }
polygon.idle, .swatch.idle { fill: var(--idle); background: var(--idle); }
polygon.draining, .swatch.draining { fill: var(--draining); background: var(--draining); }
polygon { fill-opacity: .85; }
.legend { list-style: none; display: flex; gap: 1.25rem; padding: 0; margin: .25rem 0; }
.swatch { display: inline-block; width: .9rem; height: .9rem; margin-right: .35rem; vertical-align: -.1rem; border-radius: 2px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin-top: .5rem; }
th, td { padding: .2rem .6rem; text-align: right; border-bottom: 1px solid var(--grid); } th:first-child, td:first-child { text-align: left; }
#transitions { padding-left: 1.5rem; font-variant-numeric: tabular-nums; } #transitions li { margin: .1rem 0; }
#apps td.bar-cell { text-align: left; width: 12rem; }
.bar { display: flex; width: 12rem; height: .8rem; background: var(--grid); border-radius: 2px; overflow: hidden; }
.bar span.busy { background: var(--busy); } .bar span.idle { background: var(--idle); } .bar span.draining { background: var(--draining); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.quiet { color: var(--muted); }
`;

const SCRIPT = `
(function () {
  'use strict';
  var MAX_POINTS = ${CHART_POINTS};
  var MAX_TRANSITIONS = ${LISTED_TRANSITIONS};
  var TABLE_ROWS = 10;
  var KEYS = ['busy', 'idle', 'draining'];
  var W = 600, H = 220, LEFT = 40, RIGHT = 8, TOP = 8, BOTTOM = 22;
  var points = [];
  var transitions = [];
  var byApp = [];
  function $(id) { return document.getElementById(id); }
  function clock(ms) {
    var d = new Date(ms);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
  }
  function niceMax(v) {
    var steps = [4, 6, 8, 10, 12, 16, 20, 30, 40, 50, 60, 80, 100];
    for (var i = 0; i < steps.length; i++) if (v <= steps[i]) return steps[i];
    return Math.ceil(v / 100) * 100;
  }
  function setStatus(text, cls) { var s = $('status'); s.textContent = text; s.className = cls; }
  function drawNumbers() {
    var p = points[points.length - 1];
    if (!p) return;
    ['busy', 'idle', 'draining', 'sessions', 'workers'].forEach(function (k) { $('n-' + k).textContent = String(p[k]); });
    var u = $('updated');
    u.textContent = clock(p.t);
    u.setAttribute('datetime', new Date(p.t).toISOString());
  }
  function drawChart() {
    var n = points.length;
    var svg = $('chart');
    svg.setAttribute('data-points', String(n));
    var max = 4;
    points.forEach(function (p) { max = Math.max(max, p.busy + p.idle + p.draining); });
    max = niceMax(max);
    var plotW = W - LEFT - RIGHT, plotH = H - TOP - BOTTOM;
    function x(i) { return LEFT + (MAX_POINTS - n + i) * plotW / (MAX_POINTS - 1); }
    function y(v) { return TOP + plotH - v * plotH / max; }
    KEYS.forEach(function (key, layer) {
      var top = [], bottom = [];
      points.forEach(function (p, i) {
        var lo = 0;
        for (var k = 0; k < layer; k++) lo += p[KEYS[k]];
        top.push(x(i).toFixed(1) + ',' + y(lo + p[key]).toFixed(1));
        bottom.unshift(x(i).toFixed(1) + ',' + y(lo).toFixed(1));
      });
      $('area-' + key).setAttribute('points', top.concat(bottom).join(' '));
    });
    $('y-max').textContent = String(max);
    $('y-mid').textContent = String(max / 2);
    if (n > 0) {
      var first = points[0], last = points[n - 1];
      $('x-start').textContent = clock(first.t);
      $('x-end').textContent = clock(last.t);
      var lo = {}, hi = {};
      KEYS.forEach(function (k) {
        lo[k] = Math.min.apply(null, points.map(function (p) { return p[k]; }));
        hi[k] = Math.max.apply(null, points.map(function (p) { return p[k]; }));
      });
      $('chart-desc').textContent = 'From ' + clock(first.t) + ' to ' + clock(last.t) + ': ' +
        KEYS.map(function (k) { return k + ' between ' + lo[k] + ' and ' + hi[k] + ', now ' + last[k]; }).join('; ') + '.';
    }
  }
  function drawTable() {
    var body = $('table-body');
    while (body.firstChild) body.removeChild(body.firstChild);
    points.slice(-TABLE_ROWS).reverse().forEach(function (p) {
      var tr = document.createElement('tr');
      [clock(p.t), p.busy, p.idle, p.draining, p.sessions].forEach(function (v, i) {
        var cell = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) cell.setAttribute('scope', 'row');
        cell.textContent = String(v);
        tr.appendChild(cell);
      });
      body.appendChild(tr);
    });
  }
  function describeTransition(t) {
    if (t.from === null) return 'started, ' + t.to;
    if (t.to === null) return 'stopped (was ' + t.from + ')';
    return t.from + ' \\u2192 ' + t.to;
  }
  function drawTransitions() {
    var list = $('transitions');
    while (list.firstChild) list.removeChild(list.firstChild);
    if (transitions.length === 0) {
      var none = document.createElement('li');
      none.className = 'quiet';
      none.textContent = 'None yet.';
      list.appendChild(none);
    }
    transitions.forEach(function (t) {
      var li = document.createElement('li');
      var time = document.createElement('time');
      time.setAttribute('datetime', new Date(t.t).toISOString());
      time.textContent = clock(t.t);
      li.appendChild(time);
      li.appendChild(document.createTextNode(' ' + t.workerId + ' (' + t.appId + '): ' + describeTransition(t)));
      list.appendChild(li);
    });
  }
  function drawApps() {
    var body = $('apps-body');
    while (body.firstChild) body.removeChild(body.firstChild);
    if (byApp.length === 0) {
      var tr = document.createElement('tr');
      var none = document.createElement('td');
      none.setAttribute('colspan', '6');
      none.className = 'quiet';
      none.textContent = 'No workers.';
      tr.appendChild(none);
      body.appendChild(tr);
      return;
    }
    var most = 1;
    byApp.forEach(function (a) { most = Math.max(most, a.busy + a.idle + a.draining); });
    byApp.forEach(function (a) {
      var tr = document.createElement('tr');
      var name = document.createElement('th');
      name.setAttribute('scope', 'row');
      name.textContent = a.app === '' ? '(no app id)' : a.app;
      tr.appendChild(name);
      [a.busy, a.idle, a.draining, a.sessions].forEach(function (v) {
        var td = document.createElement('td');
        td.textContent = String(v);
        tr.appendChild(td);
      });
      var cell = document.createElement('td');
      cell.className = 'bar-cell';
      var bar = document.createElement('div');
      bar.className = 'bar';
      bar.setAttribute('aria-hidden', 'true');
      KEYS.forEach(function (k) {
        var part = document.createElement('span');
        part.className = k;
        part.style.width = (100 * a[k] / most).toFixed(1) + '%';
        bar.appendChild(part);
      });
      cell.appendChild(bar);
      tr.appendChild(cell);
      body.appendChild(tr);
    });
  }
  function draw() { drawNumbers(); drawChart(); drawTable(); drawApps(); drawTransitions(); }
  var source = new EventSource('events');
  source.addEventListener('open', function () { setStatus('Live: updates every tick.', 'live'); });
  source.addEventListener('error', function () {
    setStatus(source.readyState === EventSource.CLOSED ? 'Disconnected.' : 'Reconnecting\\u2026 (has the demo stopped?)', 'down');
  });
  source.addEventListener('history', function (e) {
    var d = JSON.parse(e.data);
    points = d.points.slice(-MAX_POINTS);
    transitions = d.transitions.slice(0, MAX_TRANSITIONS);
    byApp = d.byApp;
    draw();
  });
  source.addEventListener('tick', function (e) {
    var d = JSON.parse(e.data);
    points.push(d.counts);
    if (points.length > MAX_POINTS) points.splice(0, points.length - MAX_POINTS);
    transitions = d.transitions.slice().reverse().concat(transitions).slice(0, MAX_TRANSITIONS);
    byApp = d.byApp;
    draw();
  });
})();
`;

/** What the page says about the run it shows. */
export interface PageInfo {
  readonly apps: number;
  readonly seed: number;
  readonly tickMs: number;
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/**
 * The page's Content-Security-Policy: only its own inline style and script (by hash) and its
 * own event stream. Anything injected, or any attempt to reach another host, is refused.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src ${sha256(STYLE)}`,
  `script-src ${sha256(SCRIPT)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page's HTML, telling which run it shows. */
export function renderPage(info: PageInfo): string {
  const about = escapeHtml(
    `A simulated orchestrator: ${info.apps} app${info.apps === 1 ? '' : 's'}, seed ${info.seed}, ` +
      `one tick every ${info.tickMs} ms.`,
  );
  const legend = ['busy', 'idle', 'draining']
    .map((k) => `<li><span class="swatch ${k}" aria-hidden="true"></span>${k}</li>`)
    .join('');
  const numbers = [
    ['busy', 'Busy workers'],
    ['idle', 'Idle workers'],
    ['draining', 'Draining workers'],
    ['sessions', 'Sessions'],
    ['workers', 'Workers'],
  ]
    .map(([k, label]) => `<div class="${k}"><dt>${label}</dt><dd id="n-${k}">–</dd></div>`)
    .join('\n      ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>blockyard-telemetry demo</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>blockyard-telemetry demo</h1>
  <p>${about} Prometheus scrapes <a href="/metrics">/metrics</a>.</p>
  <p id="status" role="status">Connecting…</p>
</header>
<main>
  <section aria-labelledby="now-heading">
    <h2 id="now-heading">Now</h2>
    <dl id="numbers" aria-live="polite" aria-atomic="true">
      ${numbers}
    </dl>
    <p class="quiet">Updated at <time id="updated">–</time>.</p>
  </section>
  <section aria-labelledby="chart-heading">
    <h2 id="chart-heading">Workers by state</h2>
    <figure>
      <svg id="chart" role="img" aria-labelledby="chart-title chart-desc" viewBox="0 0 600 220" data-points="0">
        <title id="chart-title">Workers by state over the last ${CHART_POINTS} ticks, stacked: busy at the bottom, then idle, then draining.</title>
        <desc id="chart-desc">No data yet.</desc>
        <line class="grid" x1="40" x2="592" y1="8" y2="8"/>
        <line class="grid" x1="40" x2="592" y1="103" y2="103"/>
        <line class="grid" x1="40" x2="592" y1="198" y2="198"/>
        <text class="axis" id="y-max" x="34" y="12" text-anchor="end">4</text>
        <text class="axis" id="y-mid" x="34" y="107" text-anchor="end">2</text>
        <text class="axis" x="34" y="202" text-anchor="end">0</text>
        <text class="axis" id="x-start" x="40" y="216"></text>
        <text class="axis" id="x-end" x="592" y="216" text-anchor="end"></text>
        <polygon id="area-busy" class="busy" points=""/>
        <polygon id="area-idle" class="idle" points=""/>
        <polygon id="area-draining" class="draining" points=""/>
      </svg>
      <figcaption><ul class="legend">${legend}</ul></figcaption>
    </figure>
    <details>
      <summary>The latest values as a table</summary>
      <table>
        <caption class="quiet">Newest first, one row per tick.</caption>
        <thead><tr><th scope="col">Time</th><th scope="col">Busy</th><th scope="col">Idle</th><th scope="col">Draining</th><th scope="col">Sessions</th></tr></thead>
        <tbody id="table-body"></tbody>
      </table>
    </details>
  </section>
  <section aria-labelledby="apps-heading">
    <h2 id="apps-heading">Workers by app</h2>
    <table id="apps">
      <caption class="quiet">At the latest tick, one row per app with a worker; the bar shows its busy, idle and draining workers.</caption>
      <thead><tr><th scope="col">App</th><th scope="col">Busy</th><th scope="col">Idle</th><th scope="col">Draining</th><th scope="col">Sessions</th><th scope="col"><span class="sr-only">Workers by state</span></th></tr></thead>
      <tbody id="apps-body"><tr><td colspan="6" class="quiet">No data yet.</td></tr></tbody>
    </table>
  </section>
  <section aria-labelledby="transitions-heading">
    <h2 id="transitions-heading">Latest transitions</h2>
    <ol id="transitions"><li class="quiet">None yet.</li></ol>
  </section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
