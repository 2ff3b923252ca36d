// Visits a local test site in a real headless Chromium (Debian's package)
// the way people would, with both ways into footfall from a web page: the
// real @segment/analytics-next browser bundle from npm, pointed at ingest,
// and footfall's own tracker (footfall.js, served by ingest). It checks what
// the browser sent and how ingest answered; the Go test (web_test.go) then
// checks what the query API shows. Run by web_test.go, which sets:
//
//   SITE_URL         the test site (loopback), e.g. http://127.0.0.1:PORT
//   INGEST_URL       ingest as pages reach it (a front-end proxy on loopback)
//   QUERY_URL        the query API
//   WRITE_KEY        the merchant's write key (its allowed_origins is SITE_URL)
//   READ_KEY         its read key (a page must not be able to use it)
//   OTHER_WRITE_KEY  another merchant's key, which does not allow SITE_URL
//   CHROMIUM         the Chromium binary
//
// The visits (what the query API must then show is in web_test.go):
//   V1 analytics-next, one request per event: lands from a newsletter
//      (utm_*), follows a link, changes route in the page (History API),
//      buys (Order Completed, 30.50 EUR): 3 page views.
//   V2 analytics-next, batching to /v1/b: 2 page views (one a route change).
//   V3 footfall.js: lands from Google, route change, back, a link: 4 page
//      views; then a custom event, a purchase (49.90 EUR), a file download
//      and an outbound click; flushes when the page is hidden.
//   V4 footfall.js with data-consent="required": nothing until consent, then
//      1 page view; nothing after consent is withdrawn.
//   V5 Do Not Track: nothing is sent.
//   V6 the browser's own HeadlessChrome user agent: sent and accepted, and
//      the pipeline must count it as a bot only.
// Every step waits on events (requests, page state), bounded by timeouts.
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through go test ./testing/browser -run TestWebCollection`);
  return v;
}

const SITE = env('SITE_URL');
const INGEST = env('INGEST_URL');
const QUERY = env('QUERY_URL');
const WRITE_KEY = env('WRITE_KEY');
const READ_KEY = env('READ_KEY');
const OTHER_WRITE_KEY = env('OTHER_WRITE_KEY');
// A desktop Chrome: the pipeline rightly counts HeadlessChrome as a bot.
const CHROME_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36';
const allowedOrigins = new Set([new URL(SITE).origin, new URL(INGEST).origin, new URL(QUERY).origin]);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

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
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  timeout: 30_000,
});

const offsite = [];
const pageErrors = [];

// Counts sendBeacon calls in the page, so that "nothing was sent" can be
// checked at once after a flush instead of by waiting.
const countBeacons = () => {
  window.__beacons = 0;
  const send = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => { window.__beacons++; return send(url, data); };
};

// A visit: a browser context of its own (its own storage), recording every
// request to ingest with the answer.
async function visit(name, { userAgent = CHROME_UA, init } = {}) {
  // userAgent null: the browser's own (HeadlessChrome).
  const context = await browser.newContext({ ...(userAgent ? { userAgent } : {}), locale: 'en-US', acceptDownloads: true });
  await context.addInitScript(countBeacons);
  if (init) await context.addInitScript(init);
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (allowedOrigins.has(u.origin)) return route.continue();
    offsite.push(u.href);
    return route.abort();
  });
  const sent = [];
  context.on('requestfinished', async (r) => {
    if (!r.url().startsWith(INGEST)) return;
    const resp = await r.response();
    const u = new URL(r.url());
    let body = null;
    try { body = r.postData() ? JSON.parse(r.postData()) : null; } catch { body = r.postData(); }
    sent.push({ method: r.method(), path: u.pathname, status: resp ? resp.status() : 0, headers: await r.allHeaders(), body });
  });
  context.on('requestfailed', (r) => {
    if (r.url().startsWith(INGEST)) sent.push({ method: r.method(), path: new URL(r.url()).pathname, status: 0, failure: r.failure() });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`  (${name} console) ${m.text()}`); });
  // The messages sent so far (batches flattened), with their path.
  const messages = () => sent.filter((s) => s.method === 'POST' && s.body && typeof s.body === 'object')
    .flatMap((s) => (s.body.batch || [s.body]).map((m) => ({ ...m, _path: s.path, _status: s.status, _headers: s.headers })));
  const pageViews = () => messages().filter((m) => m.type === 'page').map((m) => (m.properties && m.properties.path) || m.context.page.path);
  return { context, page, sent, messages, pageViews };
}

function oneVisitor(v, what) {
  const ids = new Set(v.messages().map((m) => m.anonymousId));
  assert.equal(ids.size, 1, `${what}: one anonymous id across its page loads, got ${[...ids]}`);
  return [...ids][0];
}

function allAccepted(v, what) {
  const bad = v.sent.filter((s) => s.method === 'POST' && s.status !== 200);
  assert.deepEqual(bad.map((s) => `${s.path} ${s.status}`), [], `${what}: every request to ingest answered 200`);
}

let exitCode = 0;
const anonymousIds = [];
try {
  await step('V1 analytics-next: settings from ingest, a newsletter landing, a link, a route change, Order Completed', async () => {
    const v = await visit('V1');
    await v.page.goto(`${SITE}/segment/?utm_source=newsletter&utm_medium=email&utm_campaign=spring`);
    const settings = await until('the settings document', () => v.sent.find((s) => s.path === `/v1/projects/${WRITE_KEY}/settings`));
    assert.equal(settings.status, 200, 'settings document');
    await until('the landing page view', () => v.pageViews().length === 1);
    await v.page.click('#product');
    await until('the product page view', () => v.pageViews().length === 2);
    await v.page.click('#cart');
    await until('the route change page view', () => v.pageViews().length === 3);
    await v.page.click('#buy');
    await until('Order Completed', () => v.messages().find((m) => m.event === 'Order Completed'));
    await until('every answer', () => v.sent.every((s) => s.status));
    assert.deepEqual(v.pageViews(), ['/segment/', '/segment/product.html', '/segment/cart']);
    const paths = v.sent.filter((s) => s.method === 'POST').map((s) => s.path);
    assert.deepEqual(paths, ['/v1/p', '/v1/p', '/v1/p', '/v1/t'], 'one request per event to the analytics.js paths');
    for (const m of v.messages()) {
      assert.equal(m.writeKey, WRITE_KEY, 'write key in the body');
      assert.match(m._headers['content-type'], /^text\/plain/, 'text/plain body');
    }
    const order = v.messages().find((m) => m.event === 'Order Completed');
    assert.deepEqual([order.properties.order_id, order.properties.revenue, order.properties.currency], ['SEG-1', 30.5, 'EUR']);
    allAccepted(v, 'V1');
    anonymousIds.push(oneVisitor(v, 'V1'));
    await v.context.close();
  });

  await step('V2 analytics-next batching: two page views through /v1/b', async () => {
    const v = await visit('V2');
    await v.page.goto(`${SITE}/segment/batch.html`);
    await until('the page call to be queued', () => v.page.evaluate(() => typeof window.analytics.page === 'function' && !Array.isArray(window.analytics)));
    await v.page.click('#next');
    await until('two page views in batches', () => v.pageViews().length === 2);
    await until('every answer', () => v.sent.every((s) => s.status));
    assert.ok(v.sent.filter((s) => s.method === 'POST').every((s) => s.path === '/v1/b'), 'batching sends to /v1/b only');
    assert.deepEqual(v.pageViews().sort(), ['/segment/batch.html', '/segment/blog/2']);
    allAccepted(v, 'V2');
    anonymousIds.push(oneVisitor(v, 'V2'));
    await v.context.close();
  });

  await step('V3 footfall.js: from Google, route change and back, a link, custom events, a purchase, download and outbound clicks', async () => {
    const v = await visit('V3');
    await v.page.goto(`${SITE}/tracker/`, { referer: 'https://www.google.com/' });
    assert.equal(await v.page.evaluate(() => document.referrer), 'https://www.google.com/');
    await until('the landing page view', () => v.pageViews().length === 1);
    const first = v.messages()[0];
    assert.equal(first.context.page.referrer, 'https://www.google.com/');
    assert.equal(first._path, '/v1/web');
    assert.match(first._headers['content-type'], /^text\/plain/, 'sendBeacon sends text/plain');
    await v.page.click('#pricing');
    await until('the route change page view', () => v.pageViews().length === 2);
    await v.page.evaluate(() => history.back());
    await until('the back navigation page view', () => v.pageViews().length === 3);
    await v.page.click('#checkout');
    await until('the checkout page view', () => v.pageViews().length === 4);
    assert.deepEqual(v.pageViews(), ['/tracker/', '/tracker/pricing', '/tracker/', '/tracker/checkout.html']);
    await v.page.waitForFunction(() => window.footfall && window.footfall.on);

    // A custom event, then the page is hidden: it goes out at once.
    const beacons = await v.page.evaluate(() => {
      const before = window.__beacons;
      window.footfall('track', 'signup', { plan: 'pro' });
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
      delete document.visibilityState;
      return window.__beacons - before;
    });
    assert.equal(beacons, 1, 'a hidden page flushes its queue at once');
    await v.page.click('#buy');
    const download = v.page.waitForEvent('download');
    await v.page.click('#download');
    await download;
    const popup = v.page.waitForEvent('popup');
    await v.page.click('#outbound');
    await (await popup).close();
    await until('the custom events', () => ['signup', 'purchase', 'file_download', 'outbound_link']
      .every((n) => v.messages().some((m) => m.event === n)));
    await until('every answer', () => v.sent.every((s) => s.status));
    const byName = Object.fromEntries(v.messages().filter((m) => m.event).map((m) => [m.event, m.properties]));
    assert.deepEqual(byName.purchase, { transaction_id: 'FF-1', revenue: 49.9, currency: 'EUR' });
    assert.deepEqual(byName.signup, { plan: 'pro' });
    assert.equal(byName.file_download.url, `${SITE}/files/brochure.pdf`);
    assert.equal(byName.outbound_link.url, 'https://partner.example.org/offer');
    assert.equal(v.messages().length, 8, 'four page views and four events, each sent once');
    allAccepted(v, 'V3');
    const id = oneVisitor(v, 'V3');
    anonymousIds.push(id);
    assert.equal(await v.page.evaluate(() => sessionStorage.getItem('footfall_id')), id, 'the visitor id is in sessionStorage');
    assert.equal(await v.page.evaluate(() => localStorage.getItem('footfall_id')), null, 'nothing persistent without consent');
    assert.deepEqual(await v.context.cookies(), [], 'no cookies, on the site or on ingest');
    assert.ok(v.sent.every((s) => !s.headers || !s.headers.cookie), 'no cookie sent to ingest');

    // The page can read ingest's refusal of another merchant's key (that
    // merchant does not allow this site), and cannot read the query API.
    const seen = await v.page.evaluate(async ([ingest, query, otherKey, readKey]) => {
      const refused = await fetch(ingest + '/v1/web', { method: 'POST', body: JSON.stringify({ writeKey: otherKey, batch: [{ type: 'page', anonymousId: 'x', messageId: 'refused-1' }] }) });
      const out = { refusedStatus: refused.status, refusedBody: await refused.text() };
      for (const [k, init] of [['summaryWithKey', { headers: { Authorization: 'Bearer ' + readKey } }], ['summaryNoKey', {}]]) {
        try {
          await fetch(query + '/v1/summary?metrics=events', init);
          out[k] = 'readable';
        } catch (e) {
          out[k] = e.name;
        }
      }
      return out;
    }, [INGEST, QUERY, OTHER_WRITE_KEY, READ_KEY]);
    assert.equal(seen.refusedStatus, 403, `another merchant's key from this site: ${seen.refusedBody}`);
    assert.match(seen.refusedBody, /allowed_origins/);
    assert.equal(seen.summaryWithKey, 'TypeError', 'a page of another origin must not read the query API (with a key)');
    assert.equal(seen.summaryNoKey, 'TypeError', 'a page of another origin must not read the query API (without a key)');
    await v.context.close();
  });

  await step('V4 footfall.js with data-consent="required": nothing before consent, one page view after, nothing after withdrawal', async () => {
    const v = await visit('V4');
    await v.page.goto(`${SITE}/tracker/consent.html`);
    await v.page.waitForFunction(() => window.footfall && window.footfall.on);
    const before = await v.page.evaluate(() => { window.dispatchEvent(new Event('pagehide')); return window.__beacons; });
    assert.equal(before, 0, 'no beacon before consent, even when the page is hidden');
    await v.page.click('#agree');
    await until('the page view after consent', () => v.pageViews().length === 1);
    const id = oneVisitor(v, 'V4');
    anonymousIds.push(id);
    assert.equal(await v.page.evaluate(() => localStorage.getItem('footfall_id')), id, 'with consent the visitor id is kept');
    await v.page.click('#withdraw');
    const after = await v.page.evaluate(() => {
      const n = window.__beacons;
      window.footfall('track', 'after_withdrawal');
      window.dispatchEvent(new Event('pagehide'));
      return { beacons: window.__beacons - n, stored: localStorage.getItem('footfall_id') + '/' + sessionStorage.getItem('footfall_id') };
    });
    assert.deepEqual(after, { beacons: 0, stored: 'null/null' }, 'withdrawal stops sending and forgets the id');
    await until('every answer', () => v.sent.every((s) => s.status));
    assert.equal(v.messages().length, 1);
    allAccepted(v, 'V4');
    await v.context.close();
  });

  await step('V5 Do Not Track: nothing is sent', async () => {
    const v = await visit('V5', { init: () => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' }) });
    await v.page.goto(`${SITE}/tracker/`);
    await v.page.waitForFunction(() => window.footfall && window.footfall.on);
    await v.page.click('#pricing');
    const beacons = await v.page.evaluate(() => {
      window.footfall('purchase', { transaction_id: 'DNT-1', revenue: 1, currency: 'EUR' });
      window.dispatchEvent(new Event('pagehide'));
      return window.__beacons;
    });
    assert.equal(beacons, 0);
    assert.deepEqual(v.sent.filter((s) => s.method === 'POST'), []);
    await v.context.close();
  });

  await step('V6 a headless browser\'s own user agent: sent, accepted (the pipeline counts it as a bot)', async () => {
    const v = await visit('V6', { userAgent: null });
    await v.page.goto(`${SITE}/tracker/`);
    assert.match(await v.page.evaluate(() => navigator.userAgent), /HeadlessChrome/);
    await v.page.waitForFunction(() => window.footfall && window.footfall.on);
    await v.page.evaluate(() => window.dispatchEvent(new Event('pagehide')));
    await until('the page view', () => v.pageViews().length === 1 && v.sent.every((s) => s.status));
    allAccepted(v, 'V6');
    await v.context.close();
  });

  await step('four distinct visitors, nothing left this machine, no script error', async () => {
    assert.equal(new Set(anonymousIds).size, 4, `anonymous ids ${anonymousIds}`);
    assert.deepEqual(offsite.filter((u) => u !== 'https://partner.example.org/offer'), []);
    assert.deepEqual(pageErrors, []);
  });
} catch (e) {
  exitCode = 1;
} finally {
  await browser.close();
}
const passed = results.filter((r) => r.ok).length;
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(exitCode);
