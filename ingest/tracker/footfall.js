/*
 * footfall.js: footfall's first-party web tracker. Ingest embeds this file
 * and serves it minified at /footfall.js (docs/ingest.md, "The tracker").
 *
 *   <script>window.footfall=window.footfall||function(){(footfall.q=footfall.q||[]).push(arguments)}</script>
 *   <script defer src="https://INGEST/footfall.js" data-key="WRITE_KEY"></script>
 *
 * It sends a page view on load and on every History API navigation
 * (pushState, back/forward), outbound-link and file-download clicks, and
 * what the page asks for:
 *
 *   footfall('track', 'signup', {plan: 'pro'})
 *   footfall('purchase', {transaction_id: 'T-1', revenue: 49.9, currency: 'EUR'})
 *   footfall('page')            a page view the History API did not announce
 *   footfall('consent', true)   start sending (data-consent="required") and
 *                               keep the visitor id across visits
 *   footfall('consent', false)  stop sending and forget the visitor id
 *
 * Events go out in Segment's batch format (with the write key in the body)
 * to /v1/web on the script's own origin (data-api overrides it), by
 * navigator.sendBeacon (else fetch with keepalive): at most a second after
 * they happen, and at once when the page is hidden. It sets no cookie: the
 * visitor id lives in sessionStorage (this tab's visit) until consent moves
 * it to localStorage. With Do Not Track or Global Privacy Control on, or
 * after footfall('consent', false), nothing is sent.
 */
(function (win, doc) {
  'use strict';
  var script = doc.currentScript;
  var key = script && script.getAttribute('data-key');
  if (!key || (win.footfall && win.footfall.on)) return;
  var nav = navigator;
  var loc = location;
  var endpoint = script.getAttribute('data-api') || new URL(script.src).origin + '/v1/web';
  var ID = 'footfall_id';
  var OPTOUT = 'footfall_optout';
  var local = function () { return localStorage; };
  var session = function () { return sessionStorage; };
  var queue = [];
  var timer = 0;
  var lastPage = '';
  var lastURL = '';

  function get(store, name) {
    try { return store().getItem(name); } catch (e) { return null; }
  }
  function put(store, name, value) {
    try {
      if (value) store().setItem(name, value);
      else store().removeItem(name);
    } catch (e) { /* storage blocked: keep the id in memory */ }
  }
  function uid() {
    return win.crypto && crypto.randomUUID ? crypto.randomUUID()
      : Date.now().toString(36) + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);
  }

  var dnt = nav.doNotTrack == '1' || win.doNotTrack == '1' || nav.globalPrivacyControl == true;
  var off = dnt || !!get(local, OPTOUT);
  var consented = script.getAttribute('data-consent') != 'required';
  var visitor = get(local, ID) || get(session, ID) || uid();
  put(session, ID, visitor);

  function flush() {
    clearTimeout(timer);
    timer = 0;
    if (!queue.length || !consented || off) return;
    var body = JSON.stringify({ writeKey: key, sentAt: new Date().toISOString(), batch: queue.splice(0, queue.length) });
    if (!(nav.sendBeacon && nav.sendBeacon(endpoint, body))) {
      fetch(endpoint, { method: 'POST', body: body, keepalive: true, credentials: 'omit' })['catch'](function () {});
    }
  }

  function send(type, name, props, referrer) {
    if (off) return;
    var msg = {
      type: type,
      messageId: uid(),
      anonymousId: visitor,
      timestamp: new Date().toISOString(),
      context: { page: { url: loc.href, path: loc.pathname, referrer: referrer || lastURL || doc.referrer, title: doc.title } }
    };
    if (name) msg.event = name;
    if (props) msg.properties = props;
    queue.push(msg);
    timer = timer || setTimeout(flush, 1000);
  }

  // page sends a page view unless the path and query did not change
  // (force: the page asked for one).
  function page(force) {
    var here = loc.pathname + loc.search;
    if (here == lastPage && force !== true) return;
    send('page', '', null, lastURL || doc.referrer);
    lastPage = here;
    lastURL = loc.href;
  }

  function api(command, a, b) {
    if (command == 'track') send('track', a, b);
    else if (command == 'purchase') send('track', 'purchase', a);
    else if (command == 'page') page(true);
    else if (command == 'consent') {
      consented = !!a;
      off = dnt || !a;
      queue = a ? queue : [];
      put(local, OPTOUT, a ? '' : '1');
      put(local, ID, a ? visitor : '');
      if (!a) put(session, ID, '');
      flush();
    }
  }
  api.on = 1;

  var pushState = history.pushState;
  history.pushState = function () {
    pushState.apply(this, arguments);
    page();
  };
  win.addEventListener('popstate', page);

  doc.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[href]');
    if (!a || !/^https?:$/.test(a.protocol)) return;
    if (a.host != loc.host) send('track', 'outbound_link', { url: a.href });
    else if (/\.(pdf|zip|gz|tgz|rar|7z|dmg|exe|msi|pkg|apk|csv|txt|rtf|docx?|xlsx?|pptx?|odt|ods|mp3|wav|mp4|mov|avi|webm)$/i.test(a.pathname)) {
      send('track', 'file_download', { url: a.href });
    } else return;
    flush();
  }, true);
  doc.addEventListener('visibilitychange', function () {
    if (doc.visibilityState == 'hidden') flush();
  });
  win.addEventListener('pagehide', flush);

  var early = (win.footfall && win.footfall.q) || [];
  win.footfall = api;
  page();
  for (var i = 0; i < early.length; i++) api.apply(null, early[i]);
})(window, document);
