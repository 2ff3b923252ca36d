// Drives the footfall dashboard in a real headless Chromium (Debian's
// package) and checks what it shows against the query API's own answers
// and against the ground truth of the events the Go test sent. Run by
// browser_test.go, which starts the stack and sets the environment:
//
//   DASHBOARD_URL  the dashboard, e.g. http://127.0.0.1:PORT/dashboard/
//   READ_KEY       the demo merchant's read key
//   TRUTH          a JSON file: {"events": [{at, name, visitor, country, currency, minor}, ...]}
//   SCREENSHOT     where to save the screenshot (PNG; "-narrow" is added for the narrow one)
//   CHROMIUM       the Chromium binary
//   BROWSER_ZONE   the browser's time zone (default Europe/Berlin; the Go
//                  test runs once more with Asia/Kolkata, +05:30)
//
// Every step is bounded by Playwright's timeouts; every request the page
// makes must go to the loopback address it was loaded from.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through go test ./testing/browser`);
  return v;
}

const DASHBOARD = env('DASHBOARD_URL');
const KEY = env('READ_KEY');
const SCREENSHOT = env('SCREENSHOT');
const ORIGIN = new URL(DASHBOARD).origin;
const truth = JSON.parse(await readFile(env('TRUTH'), 'utf8')).events.map((e) => ({ ...e, ms: Date.parse(e.at) }));

// Country is session-scoped (docs/metrics.md): every event counts under
// the country of its session's first event. A visitor's session ends at a
// gap of 30 minutes or more, or an hour after it started.
{
  const byVisitor = {};
  for (const e of truth) (byVisitor[e.visitor] ||= []).push(e);
  for (const evs of Object.values(byVisitor)) {
    evs.sort((a, b) => a.ms - b.ms);
    let start = null;
    let last = null;
    let country = null;
    for (const e of evs) {
      if (start === null || e.ms - last >= 30 * 60e3 || e.ms - start >= 3600e3) {
        start = e.ms;
        country = e.country;
      }
      last = e.ms;
      e.sessionCountry = country;
    }
  }
}
const BROWSER_ZONE = process.env.BROWSER_ZONE || 'Europe/Berlin';
// ICU may name a zone by an older IANA name (Asia/Calcutta); the API takes both.
const ALIASES = { 'Asia/Kolkata': 'Asia/Calcutta', 'Asia/Calcutta': 'Asia/Kolkata' };
const isBrowserZone = (z) => z === BROWSER_ZONE || z === ALIASES[BROWSER_ZONE];

// ---- the API, asked directly ----

async function apiGet(url, key = KEY) {
  const resp = await fetch(url, { headers: { Authorization: 'Bearer ' + key }, signal: AbortSignal.timeout(10_000) });
  return { status: resp.status, body: await resp.json() };
}

// ---- ground truth ----

function truthOver(fromISO, toISO) {
  const from = Date.parse(fromISO);
  const to = Date.parse(toISO);
  const t = { events: 0, pageviews: 0, visitors: new Set(), revenue: {}, countries: {} };
  for (const e of truth) {
    if (e.ms < from || e.ms >= to) continue;
    t.events++;
    if (e.name === 'page_view') t.pageviews++;
    t.visitors.add(e.visitor);
    if (e.minor) t.revenue[e.currency] = (t.revenue[e.currency] || 0) + e.minor;
    t.countries[e.sessionCountry] = (t.countries[e.sessionCountry] || 0) + 1;
  }
  return t;
}

// ---- reading the page ----

const readHeadline = (page) => page.$$eval('#headline .card', (cards) => cards.map((c) => ({
  metric: c.dataset.metric,
  currency: c.dataset.currency || '',
  value: c.querySelector('.value data').value,
  minor: c.querySelector('.value data').dataset.minor || '',
  text: c.querySelector('.value').textContent,
  percent: c.querySelector('.change').dataset.percent,
})));

const readTable = (page, id) => page.$$eval(`#${id} tbody tr, #${id} tfoot tr`, (rows) => rows.map((r) => ({
  value: r.dataset.value || r.dataset.row || '',
  cells: Object.fromEntries([...r.querySelectorAll('td[data-metric]')].map((td) => [td.dataset.metric, td.querySelector('data').value])),
})));

const readChartTable = (page) => page.$$eval('#chart-table tbody tr', (rows) => rows.map((r) => ({
  start: r.dataset.start,
  values: [...r.querySelectorAll('td data')].map((d) => d.value),
})));

// ---- the test ----

const results = [];
async function step(name, fn) {
  const start = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - start} ms)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${e.stack || e}`);
    throw e;
  }
}

const browser = await chromium.launch({
  executablePath: env('CHROMIUM'),
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  timeout: 30_000,
});

let page;
let exitCode = 0;
const offsite = [];
const consoleErrors = [];
let apiRequests = [];
const realtimeAnswers = [];

async function newPage(context) {
  const p = await context.newPage();
  p.setDefaultTimeout(15_000);
  p.on('request', (r) => {
    if (r.url().startsWith(ORIGIN + '/v1/')) apiRequests.push(r.url());
  });
  p.on('response', (r) => {
    if (r.url() === ORIGIN + '/v1/realtime' && r.status() === 200) r.json().then((b) => realtimeAnswers.push(b), () => {});
  });
  p.on('console', (m) => {
    // The browser logs every 4xx answer; those are the ones the test provokes.
    if (m.type() === 'error' && !/status of 40[01]/.test(m.text())) consoleErrors.push(m.text());
  });
  p.on('pageerror', (e) => consoleErrors.push(String(e)));
  return p;
}

async function newContext(viewport = { width: 1280, height: 900 }) {
  const context = await browser.newContext({ viewport, locale: 'en-US', timezoneId: BROWSER_ZONE });
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.origin === ORIGIN) return route.continue();
    offsite.push(u.href);
    return route.abort();
  });
  return context;
}

// act does something that makes the page load, and waits until it has
// shown the answers (or an error); it returns the URL of the summary the
// page asked for.
async function act(fn) {
  const loads = () => page.evaluate(() => Number((document.body && document.body.dataset.loads) || 0));
  const before = await loads();
  apiRequests = [];
  await fn();
  await page.waitForFunction((n) => Number(document.body.dataset.loads || 0) > n, before);
  const sums = requested('summary');
  assert.equal(sums.length, 1, `one summary request per load, got ${sums.length}`);
  return sums[0].href;
}

const requested = (route) => apiRequests.filter((u) => u.startsWith(ORIGIN + '/v1/' + route)).map((u) => new URL(u));

// checkShown compares everything the page shows with the API's answers to
// the page's own requests, and the counts with the ground truth.
async function checkShown(summaryURL, wantPoints) {
  const { status, body: s } = await apiGet(summaryURL);
  assert.equal(status, 200, `the API refused the page's own summary request: ${JSON.stringify(s)}`);

  // Headline numbers = the API's.
  const cards = await readHeadline(page);
  for (const m of ['visitors', 'pageviews', 'events', 'sessions', 'bounce_rate', 'avg_session_duration']) {
    const c = cards.find((x) => x.metric === m);
    assert.ok(c, `no card for ${m}`);
    assert.equal(c.value, s.current[m] === null ? '' : String(s.current[m]), `${m} shown`);
    const pct = s.change[m].percent;
    assert.equal(c.percent, pct === null ? '' : String(pct), `${m} change shown`);
  }
  for (const m of ['visitors', 'pageviews', 'events']) {
    const c = cards.find((x) => x.metric === m);
    assert.equal(c.text.replace(/,/g, ''), String(s.current[m]), `${m} in words`);
  }
  const revenue = cards.filter((c) => c.metric === 'revenue' && c.currency);
  // A card per currency of either period (a currency sold only before
  // shows 0 now, e.g. just after midnight).
  const currencies = [...new Set([...Object.keys(s.current.revenue), ...Object.keys(s.previous.revenue)])].sort();
  assert.deepEqual(revenue.map((c) => c.currency).sort(), currencies, 'revenue currencies');
  for (const c of revenue) {
    assert.equal(c.value, (s.current.revenue[c.currency] || { amount: '0' }).amount, `revenue ${c.currency}`);
  }

  // ... and the ground truth over the range the API says it covered.
  const t = truthOver(s.from, s.to);
  assert.equal(s.current.events, t.events, `events ${s.from}..${s.to}: API vs ground truth`);
  assert.equal(s.current.pageviews, t.pageviews, 'page views: API vs ground truth');
  const v = s.current.visitors;
  assert.ok(Math.abs(v - t.visitors.size) <= Math.max(1, 0.02 * t.visitors.size),
    `visitors ${v}, ground truth ${t.visitors.size} (sketch error allowed: 2 %)`);
  assert.deepEqual(Object.fromEntries(revenue.filter((c) => Number(c.minor) !== 0).map((c) => [c.currency, Number(c.minor)])), t.revenue, 'revenue shown vs ground truth');

  // The chart's data = the API's time series for the page's request.
  const [tsURL] = requested('timeseries');
  const { body: ts } = await apiGet(tsURL.href);
  const rows = await readChartTable(page);
  assert.equal(rows.length, ts.points.length, 'chart points');
  if (wantPoints) assert.equal(rows.length, wantPoints, 'chart points for the range');
  ts.points.forEach((p, i) => {
    assert.equal(rows[i].start, p.start, `point ${i} start`);
    assert.equal(rows[i].values[0], String(p.visitors), `point ${i} visitors`);
    assert.equal(rows[i].values[1], String(p.pageviews), `point ${i} page views`);
  });
  assert.equal(ts.points.reduce((n, p) => n + p.pageviews, 0), t.pageviews, 'page views over the chart vs ground truth');

  // The six tables = the API's breakdowns, with other and total, in the
  // metrics each asked for (entry and exit pages: session metrics).
  for (const u of requested('breakdown')) {
    const dim = u.searchParams.get('dimension');
    const metrics = u.searchParams.get('metrics').split(',');
    const { body: b } = await apiGet(u.href);
    const shown = await readTable(page, 'top-' + dim);
    // A breakdown without rows shows one "no data" row instead.
    const top = b.rows.length ? b.rows.map((r) => ({ value: r.value, p: r })) : [{ value: 'empty', p: null }];
    const want = [...top, { value: 'other', p: b.other }, { value: 'total', p: b.total }];
    assert.deepEqual(shown.map((r) => r.value), want.map((r) => r.value), `${dim} rows`);
    want.forEach((w, i) => {
      if (w.p === null) return;
      assert.deepEqual(Object.keys(shown[i].cells), metrics, `${dim} ${w.value} columns`);
      for (const m of metrics) {
        // A rate without sessions is null: shown as a dash, value empty.
        assert.equal(shown[i].cells[m], w.p[m] === null ? '' : String(w.p[m]), `${dim} ${w.value} ${m}`);
      }
    });
    if (dim === 'country') {
      const got = Object.fromEntries(b.rows.map((r) => [r.value, r.events]));
      assert.deepEqual(got, t.countries, 'events per country: shown vs ground truth');
    }
  }
  assert.deepEqual(requested('breakdown').map((u) => u.searchParams.get('dimension')).sort(), ['country', 'device', 'entry_page', 'exit_page', 'page', 'source']);

  // Freshness in words, from the answer.
  const fresh = await page.$eval('#freshness', (p) => ({ text: p.textContent, sealed: p.dataset.sealedThrough }));
  // The same instant; answers format it in their own time zone.
  assert.equal(fresh.sealed ? Date.parse(fresh.sealed) : '', s.sealed_through ? Date.parse(s.sealed_through) : '', 'sealed_through');
  assert.match(fresh.text, s.sealed_through ? /^Sealed \(final\) through / : /^No hour is sealed yet/);
  assert.match(fresh.text, /Provisional numbers were last updated .* ago|now/);
  return s;
}

try {
  const context = await newContext();
  page = await newPage(context);

  await step('the page loads, asks for a key and defaults to the browser\'s zone', async () => {
    const resp = await page.goto(DASHBOARD);
    assert.equal(resp.status(), 200);
    assert.equal(await page.title(), 'footfall dashboard');
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'signed-out');
    const tz = await page.getByLabel('Time zone', { exact: true }).inputValue();
    assert.ok(isBrowserZone(tz), `the page starts in ${tz}, the browser is in ${BROWSER_ZONE}`);
    assert.equal(await page.getByLabel('Range', { exact: true }).inputValue(), '24h');
    const zones = await page.$$eval('#tz option', (os) => os.length);
    assert.ok(zones > 300, `only ${zones} time zones offered`);
    assert.equal(apiRequests.length, 0, 'no API request without a key');
  });

  await step('a wrong key shows the API\'s error as the API words it', async () => {
    await page.getByLabel('Read key', { exact: true }).fill('not-a-read-key');
    const url = await act(() => page.getByLabel('Read key', { exact: true }).press('Enter'));
    const { status, body } = await apiGet(url, 'not-a-read-key');
    assert.equal(status, 401);
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'error');
    assert.equal(await page.locator('#error-detail').textContent(), body.detail);
    assert.ok(await page.locator('#error').isVisible());
    assert.equal(await page.evaluate(() => sessionStorage.getItem('footfall.readKey')), null, 'a refused key is not kept');
  });

  let first;
  await step('the right key shows the last 24 hours, equal to the API and the ground truth', async () => {
    await page.getByLabel('Read key', { exact: true }).fill(KEY);
    const url = await act(() => page.getByRole('button', { name: 'Show' }).click());
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready');
    assert.equal(await page.locator('#error').isVisible(), false);
    const u = new URL(url);
    assert.ok(isBrowserZone(u.searchParams.get('tz')), u.searchParams.get('tz'));
    const span = Date.parse(u.searchParams.get('to')) - Date.parse(u.searchParams.get('from'));
    assert.equal(span, 24 * 3600e3, '24 hours');
    assert.equal(requested('timeseries')[0].searchParams.get('interval'), 'hour');
    first = await checkShown(url, 24);
    assert.ok(first.current.events > 0, 'the last 24 hours hold events');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('footfall.readKey')), KEY);
    assert.equal(await page.evaluate(() => localStorage.length + document.cookie.length), 0, 'nothing but sessionStorage');
    assert.ok(!page.url().includes(KEY), 'the key is not in the address');
  });

  await step('the realtime panel shows the API\'s realtime answer', async () => {
    // The panel refreshes itself every 10 s: compare it with the newest
    // answer the page received, and that with the ground truth of its 30
    // minutes, until they agree (bounded: two refreshes).
    const wantOf = (r) => ({ visitors: String(r.last_30_minutes.visitors), pageviews: String(r.last_30_minutes.pageviews),
      events: String(r.last_30_minutes.events), hour_events: String(r.hour.events) });
    const truthOf = (r) => {
      const t = truthOver(r.last_30_minutes.start, new Date(Date.parse(r.last_30_minutes.start) + 30 * 60e3).toISOString());
      return { events: t.events, pageviews: t.pageviews };
    };
    let shown;
    let r;
    const deadline = Date.now() + 25_000;
    while (Date.now() < deadline) {
      shown = await page.$$eval('[data-realtime] data', (ds) => Object.fromEntries(ds.map((d) => [d.closest('[data-realtime]').dataset.realtime, d.value])));
      r = realtimeAnswers[realtimeAnswers.length - 1];
      if (r && JSON.stringify(shown) === JSON.stringify(wantOf(r)) &&
        JSON.stringify(truthOf(r)) === JSON.stringify({ events: r.last_30_minutes.events, pageviews: r.last_30_minutes.pageviews })) break;
      await page.waitForTimeout(250);
    }
    assert.ok(r, 'the page never asked for /v1/realtime');
    assert.deepEqual(shown, wantOf(r), 'realtime panel vs the API\'s answer');
    assert.deepEqual({ events: r.last_30_minutes.events, pageviews: r.last_30_minutes.pageviews }, truthOf(r), 'last 30 minutes: API vs ground truth');
    assert.ok(r.last_30_minutes.events > 0, 'the Go test sent events in the last 30 minutes');
    assert.equal(await page.$$eval('#realtime-bars rect', (rs) => rs.length), 30);
  });

  await step('screenshot', async () => {
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  await step('switching the range to today and the zone to Asia/Tokyo updates the numbers', async () => {
    let url = await act(() => page.getByLabel('Range', { exact: true }).selectOption('today'));
    const berlin = await checkShown(url, null);
    assert.ok(isBrowserZone(new URL(url).searchParams.get('tz')));
    url = await act(() => page.getByLabel('Time zone', { exact: true }).selectOption('Asia/Tokyo'));
    const tokyo = await checkShown(url, 24);
    const u = new URL(url);
    assert.equal(u.searchParams.get('tz'), 'Asia/Tokyo');
    assert.match(tokyo.from, /T00:00:00\+09:00$/, 'today starts at midnight in Tokyo');
    // Today started at local midnight in the browser's zone (Berlin +01:00
    // or +02:00; India +05:30, a UTC half hour).
    const offset = BROWSER_ZONE === 'Europe/Berlin' ? '\\+0[12]:00' : '\\+05:30';
    assert.match(berlin.from, new RegExp('T00:00:00' + offset + '$'), `today started at midnight in ${BROWSER_ZONE}`);
    assert.notEqual(Date.parse(tokyo.from), Date.parse(berlin.from));
    assert.equal(requested('timeseries')[0].searchParams.get('interval'), 'hour');
  });

  await step('switching to the last 30 days asks for days', async () => {
    const url = await act(() => page.getByLabel('Range', { exact: true }).selectOption('30d'));
    await checkShown(url, 30);
    assert.equal(requested('timeseries')[0].searchParams.get('interval'), 'day');
    const s = (await apiGet(url)).body;
    assert.equal(s.current.events, truth.length, 'the last 30 days hold every event sent');
  });

  await step('switching to the last 7 days asks for hours', async () => {
    const url = await act(() => page.getByLabel('Range', { exact: true }).selectOption('7d'));
    await checkShown(url, 168);
    assert.equal(requested('timeseries')[0].searchParams.get('interval'), 'hour');
  });

  await step('India\'s zone (+05:30) is served: local hours, the API\'s and the truth\'s numbers; UTC after it', async () => {
    // ICU may list India's zone under its older name.
    const india = await page.$eval('#tz', (s) => ['Asia/Kolkata', 'Asia/Calcutta'].find((z) => [...s.options].some((o) => o.value === z)));
    assert.ok(india, 'India\'s zone is not offered');
    const url = await act(() => page.getByLabel('Time zone', { exact: true }).selectOption(india));
    assert.equal(await page.locator('#error').isVisible(), false, 'no refusal');
    const s = await checkShown(url, 168);
    assert.match(s.from, /T\d\d:00:00\+05:30$/, 'the last 7 days start at a local hour in India');
    assert.equal(new Date(Date.parse(s.from)).getUTCMinutes(), 30, 'a local hour in India starts at a UTC half hour');
    const ok = await act(() => page.getByLabel('Time zone', { exact: true }).selectOption('UTC'));
    assert.equal(await page.locator('#error').isVisible(), false);
    await checkShown(ok, 168);
  });

  await step('a link with #key= signs in and leaves the address bar clean', async () => {
    const p = await newPage(context);
    const prev = page;
    page = p;
    await act(() => p.goto(DASHBOARD + '#key=' + encodeURIComponent(KEY)));
    assert.equal(await p.evaluate(() => location.hash), '');
    assert.equal(await p.evaluate(() => document.body.dataset.state), 'ready');
    await p.close();
    page = prev;
  });

  await step('keyboard only: tab to the key, type it, Enter, then change the range with arrow keys', async () => {
    const ctx = await newContext();
    page = await newPage(ctx);
    await page.goto(DASHBOARD);
    let focused = '';
    for (let i = 0; i < 6 && focused !== 'key'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement.id);
    }
    assert.equal(focused, 'key', 'the key field is reachable with Tab');
    await page.keyboard.type(KEY);
    await act(() => page.keyboard.press('Enter'));
    assert.equal(await page.evaluate(() => document.body.dataset.state), 'ready');
    await page.getByLabel('Range', { exact: true }).focus();
    const url = await act(() => page.keyboard.press('ArrowDown'));
    assert.equal(await page.getByLabel('Range', { exact: true }).inputValue(), '7d');
    await checkShown(url, 168);
    await ctx.close();
  });

  await step('a narrow screen: labelled controls, nothing wider than the screen', async () => {
    const ctx = await newContext({ width: 360, height: 800 });
    page = await newPage(ctx);
    await act(() => page.goto(DASHBOARD + '#key=' + encodeURIComponent(KEY)));
    const unlabelled = await page.$$eval('input, select, button', (els) => els
      .filter((e) => !(e.labels && e.labels.length) && !e.textContent.trim() && !e.getAttribute('aria-label')).map((e) => e.outerHTML));
    assert.deepEqual(unlabelled, []);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 360, `the page is ${width} px wide on a 360 px screen`);
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '') + '-narrow.png', fullPage: true });
    await ctx.close();
  });

  await step('no request left this machine, no script error', async () => {
    assert.deepEqual(offsite, []);
    assert.deepEqual(consoleErrors, []);
  });
} catch (e) {
  exitCode = 1;
  if (page && !page.isClosed()) {
    const shot = SCREENSHOT.replace(/\.png$/, '') + '-failure.png';
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    console.log(`screenshot of the failure: ${shot}`);
    console.log(`error shown: ${await page.locator('#error').textContent().catch(() => '')}`);
  }
} finally {
  await browser.close();
}
const passed = results.filter((r) => r.ok).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(exitCode);
