// footfall dashboard. Reads only the public query API (/v1/summary,
// /v1/timeseries, /v1/breakdown, /v1/realtime) with the merchant's read
// key, which stays in this tab's sessionStorage. Plain JavaScript, no
// build step; uPlot (vendor/) draws the chart. Every number shown carries
// the API's own value in a <data value> element, so tests (and curious
// readers) can compare it with the API's answer.
(() => {
  'use strict';

  const KEY_STORE = 'footfall.readKey';
  const VIEW_STORE = 'footfall.view';
  const HOUR = 3600e3;
  const TOP = 10;
  const REFRESH_MS = 60e3;
  const REALTIME_MS = 10e3;
  const SUMMARY_METRICS = ['visitors', 'pageviews', 'events', 'sessions', 'bounce_rate', 'engagement_rate', 'avg_session_duration', 'revenue'];
  const SERIES_METRICS = ['visitors', 'pageviews', 'revenue'];
  // Columns of the top tables: what each dimension's breakdown rows hold
  // (docs/metrics.md): pages and other event-scoped or session-scoped
  // dimensions have event metrics; entry and exit pages are shown with
  // session metrics, exit pages having no event metrics at all.
  const EVENT_COLUMNS = [['visitors', 'Visitors'], ['pageviews', 'Page views'], ['events', 'Events']];
  const SESSION_COLUMNS = [['visitors', 'Visitors'], ['sessions', 'Sessions'], ['engagement_rate', 'Engagement rate']];
  const CARDS = [
    { metric: 'visitors', label: 'Visitors' },
    { metric: 'pageviews', label: 'Page views' },
    { metric: 'events', label: 'Events' },
    { metric: 'sessions', label: 'Sessions' },
    { metric: 'bounce_rate', label: 'Bounce rate' },
    { metric: 'engagement_rate', label: 'Engagement rate' },
    { metric: 'avg_session_duration', label: 'Average session' },
  ];
  const DIMENSIONS = [
    { dimension: 'page', title: 'Top pages', column: 'Page', columns: EVENT_COLUMNS },
    { dimension: 'entry_page', title: 'Entry pages', column: 'Entry page', columns: SESSION_COLUMNS },
    { dimension: 'exit_page', title: 'Exit pages', column: 'Exit page', columns: SESSION_COLUMNS },
    { dimension: 'source', title: 'Top sources', column: 'Source', columns: EVENT_COLUMNS },
    { dimension: 'country', title: 'Top countries', column: 'Country', columns: EVENT_COLUMNS },
    { dimension: 'device', title: 'Top devices', column: 'Device', columns: EVENT_COLUMNS },
  ];

  const $ = (id) => document.getElementById(id);
  const locale = navigator.language || 'en-US';
  const integer = new Intl.NumberFormat(locale);
  const compact = new Intl.NumberFormat(locale, { notation: 'compact', maximumFractionDigits: 1 });
  const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
  const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const regions = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames([locale], { type: 'region' }) : null;

  let key = '';
  let generation = 0; // each load() takes the next; answers of older loads are dropped
  let controller = null; // aborts the requests of the previous load
  let freshness = null; // sealed_through and provisional_as_of of the newest answer
  let chart = null;
  let loads = 0; // loads finished (shown or failed), in body[data-loads] for tests

  // ---- the API ----

  // ApiError is an error answer: the API's own words are in detail.
  class ApiError extends Error {
    constructor(status, title, detail) {
      super(detail);
      this.status = status;
      this.title = title;
      this.detail = detail;
    }
  }

  async function api(path, params, signal) {
    const url = '/v1/' + path + (params ? '?' + new URLSearchParams(params) : '');
    let resp;
    try {
      resp = await fetch(url, { headers: { Authorization: 'Bearer ' + key }, signal });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'Could not reach the query API at ' + location.origin, e.message);
    }
    if (!resp.ok) {
      let title = resp.status + ' ' + resp.statusText;
      let detail = '';
      try {
        const p = await resp.json(); // application/problem+json
        if (p.title) title = resp.status + ' ' + p.title;
        detail = p.detail || '';
      } catch (_) {
        detail = '(the answer carried no problem details)';
      }
      throw new ApiError(resp.status, title, detail);
    }
    return resp.json();
  }

  // ---- time ----

  // dateIn is the calendar date (YYYY-MM-DD) of instant ms in zone tz.
  function dateIn(tz, ms) {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })
      .formatToParts(new Date(ms));
    const get = (type) => parts.find((p) => p.type === type).value;
    return get('year') + '-' + get('month') + '-' + get('day');
  }

  function addDays(date, n) {
    const [y, m, d] = date.split('-').map(Number);
    return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
  }

  const isoHour = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

  // offsetMinutes is tz's UTC offset at now, in minutes (+330 in India).
  function offsetMinutes(tz, now) {
    try {
      const p = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' }).formatToParts(new Date(now));
      const m = /GMT([+-])(\d{2}):(\d{2})/.exec(p.find((x) => x.type === 'timeZoneName').value);
      return m ? (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
    } catch (_) {
      return 0;
    }
  }

  // rangeQuery turns a range choice into the API's from, to and interval.
  // Dates (YYYY-MM-DD) mean local midnight in tz to the API; "last N
  // hours" ranges end with the current hour.
  function rangeQuery(range, tz, now) {
    // The end of the current local hour in tz (a UTC half hour in India).
    const off = offsetMinutes(tz, now) * 60e3;
    const end = Math.floor((now + off) / HOUR) * HOUR + HOUR - off;
    const today = dateIn(tz, now);
    switch (range) {
      case 'today': return { from: today, to: addDays(today, 1), interval: 'hour' };
      case 'yesterday': return { from: addDays(today, -1), to: today, interval: 'hour' };
      case '7d': return { from: isoHour(end - 168 * HOUR), to: isoHour(end), interval: 'hour' };
      case '30d': return { from: addDays(today, -29), to: addDays(today, 1), interval: 'day' };
      case '90d': return { from: addDays(today, -89), to: addDays(today, 1), interval: 'day' };
      default: return { from: isoHour(end - 24 * HOUR), to: isoHour(end), interval: 'hour' };
    }
  }

  function formatTime(iso, tz, withDate = true) {
    const opts = withDate ? { timeZone: tz, dateStyle: 'medium', timeStyle: 'short' } : { timeZone: tz, timeStyle: 'short' };
    return new Intl.DateTimeFormat(locale, opts).format(new Date(iso));
  }

  // ago says how long before now instant iso was, in words.
  function ago(iso, now) {
    const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
    if (s < 60) return relative.format(-s, 'second');
    if (s < 3600) return relative.format(-Math.round(s / 60), 'minute');
    if (s < 48 * 3600) return relative.format(-Math.round(s / 3600), 'hour');
    return relative.format(-Math.round(s / 86400), 'day');
  }

  function zoneOffset(tz, now) {
    try {
      const p = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' }).formatToParts(new Date(now));
      return p.find((x) => x.type === 'timeZoneName').value.replace('GMT', 'UTC');
    } catch (_) {
      return '';
    }
  }

  // ---- formatting ----

  function formatValue(metric, v) {
    if (v === null || v === undefined) return '—';
    switch (metric) {
      case 'bounce_rate':
      case 'engagement_rate': return percent.format(v);
      case 'avg_session_duration': {
        const m = Math.floor(v / 60);
        const s = Math.round(v - m * 60);
        return m > 0 ? m + ' min ' + s + ' s' : s + ' s';
      }
      default: return integer.format(v);
    }
  }

  function formatMoney(amount, currency) {
    try {
      return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(Number(amount));
    } catch (_) {
      return amount + ' ' + currency;
    }
  }

  function dimensionLabel(dimension, value) {
    if (dimension === 'country' && regions && /^[A-Z]{2}$/.test(value)) {
      try {
        return regions.of(value) + ' (' + value + ')';
      } catch (_) { /* unknown code: show it as is */ }
    }
    return value;
  }

  // el builds an element: el('p', {class: 'x'}, 'text', child, ...).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c !== undefined && c !== null) e.append(c);
    }
    return e;
  }

  // num is a number shown in words with the API's value beside it.
  const num = (value, text) => el('data', { value: value === null || value === undefined ? '' : String(value) }, text);

  // ---- rendering ----

  function renderHeadline(s, tz) {
    $('merchant').textContent = '· merchant ' + s.merchant;
    $('period').textContent = formatTime(s.from, tz) + ' to ' + formatTime(s.to, tz) +
      ', compared with ' + formatTime(s.previous_from, tz) + ' to ' + formatTime(s.previous_to, tz);
    const cards = CARDS.map(({ metric, label }) => {
      const cur = s.current[metric];
      const prev = s.previous[metric];
      return card(metric, null, label, num(cur, formatValue(metric, cur)), s.change[metric],
        formatValue(metric, prev), prev === 0 || prev === null);
    });
    const currencies = [...new Set([...Object.keys(s.current.revenue), ...Object.keys(s.previous.revenue)])].sort();
    if (currencies.length === 0) {
      cards.push(card('revenue', null, 'Revenue', num('', 'none'), null, '', true));
    }
    for (const c of currencies) {
      const cur = s.current.revenue[c] || { minor: 0, amount: '0' };
      const prev = s.previous.revenue[c] || { minor: 0, amount: '0' };
      const v = num(cur.amount, formatMoney(cur.amount, c));
      v.dataset.minor = cur.minor;
      cards.push(card('revenue', c, 'Revenue (' + c + ')', v, s.change.revenue[c], formatMoney(prev.amount, c), prev.minor === 0));
    }
    $('headline').replaceChildren(...cards);
  }

  function card(metric, currency, label, value, change, previousText, previousEmpty) {
    const pct = change ? change.percent : null;
    let words;
    if (change === null) {
      words = ['none in this or the previous period'];
    } else if (pct === null || pct === undefined) {
      words = [previousEmpty ? 'nothing in the previous period' : 'no change can be stated'];
    } else if (pct === 0) {
      words = ['no change from the previous period (' + previousText + ')'];
    } else {
      const cls = pct > 0 ? 'up' : 'down';
      const sign = pct > 0 ? '+' : '−';
      words = [el('span', { class: cls }, sign + Math.abs(pct).toLocaleString(locale) + ' %'),
        ' vs the previous period (' + previousText + ')'];
    }
    return el('div', { class: 'card', 'data-metric': metric, 'data-currency': currency },
      el('h3', null, label),
      el('p', { class: 'value' }, value),
      el('p', { class: 'change', 'data-percent': pct === null || pct === undefined ? '' : String(pct) }, ...words));
  }

  // mainCurrency is the currency the chart shows: the largest revenue.
  function mainCurrency(revenue) {
    const cs = Object.keys(revenue).sort((a, b) => Number(revenue[b].amount) - Number(revenue[a].amount) || a.localeCompare(b));
    return cs[0] || '';
  }

  function renderChart(series, summary, tz) {
    const box = $('chart');
    const currency = mainCurrency(summary.current.revenue);
    const now = Date.now() / 1000;
    const xs = [];
    const visitors = [];
    const pageviews = [];
    const revenue = [];
    for (const p of series.points) {
      const t = Date.parse(p.start) / 1000;
      const future = t > now; // today's hours still to come: no line
      xs.push(t);
      visitors.push(future ? null : p.visitors);
      pageviews.push(future ? null : p.pageviews);
      revenue.push(future || !currency ? null : Number((p.revenue[currency] || { amount: '0' }).amount));
    }
    const color = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    const fromZero = (u, min, max) => [0, max > 0 ? max * 1.1 : 1];
    const pointTime = (u, v) => (v === null ? '' : formatTime(new Date(v * 1000).toISOString(), tz));
    const opts = {
      width: Math.max(box.clientWidth, 200),
      height: window.innerWidth < 480 ? 220 : 300,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), tz),
      scales: { x: { time: true }, count: { range: fromZero }, money: { range: fromZero } },
      series: [
        { label: 'Time', value: pointTime },
        { label: 'Visitors', scale: 'count', stroke: color('--visitors'), width: 2, value: (u, v) => formatValue('visitors', v) },
        { label: 'Page views', scale: 'count', stroke: color('--pageviews'), width: 2, value: (u, v) => formatValue('pageviews', v) },
        {
          label: currency ? 'Revenue (' + currency + ')' : 'Revenue', scale: 'money', stroke: color('--revenue'),
          fill: color('--revenue') + '33', width: 1, paths: uPlot.paths.bars({ size: [0.6, 40] }), points: { show: false },
          value: (u, v) => (v === null || !currency ? '—' : formatMoney(v, currency)),
        },
      ],
      axes: [
        {},
        { scale: 'count', values: (u, vals) => vals.map((v) => compact.format(v)) },
        { scale: 'money', side: 1, grid: { show: false }, values: (u, vals) => vals.map((v) => compact.format(v)) },
      ],
    };
    if (chart) chart.destroy();
    chart = new uPlot(opts, [xs, visitors, pageviews, revenue], box);
    renderChartTable(series, tz);
  }

  function renderChartTable(series, tz) {
    const currencies = [...new Set(series.points.flatMap((p) => Object.keys(p.revenue)))].sort();
    const head = el('tr', null, el('th', { scope: 'col' }, 'Start (' + tz + ')'), el('th', { scope: 'col' }, 'Visitors'),
      el('th', { scope: 'col' }, 'Page views'), ...currencies.map((c) => el('th', { scope: 'col' }, 'Revenue (' + c + ')')));
    const rows = series.points.map((p) => el('tr', { 'data-start': p.start },
      el('th', { scope: 'row' }, formatTime(p.start, tz) + (p.sealed ? '' : ' *')),
      el('td', null, num(p.visitors, formatValue('visitors', p.visitors))),
      el('td', null, num(p.pageviews, formatValue('pageviews', p.pageviews))),
      ...currencies.map((c) => {
        const m = p.revenue[c] || { amount: '0' };
        return el('td', null, num(m.amount, formatMoney(m.amount, c)));
      })));
    $('chart-table').replaceChildren(
      el('caption', null, 'Per ' + series.interval + ' (* provisional: not sealed yet)'),
      el('thead', null, head), el('tbody', null, ...rows));
  }

  function renderTop(d, b) {
    const metricCells = (p) => d.columns.map(([m]) => el('td', { 'data-metric': m }, num(p[m], formatValue(m, p[m]))));
    const rows = b.rows.map((r) => el('tr', { 'data-value': r.value },
      el('th', { scope: 'row' }, dimensionLabel(d.dimension, r.value)), ...metricCells(r)));
    if (rows.length === 0) {
      rows.push(el('tr', { 'data-row': 'empty' }, el('td', { colspan: String(1 + d.columns.length) }, 'No data in this range')));
    }
    const other = el('tr', { class: 'other', 'data-row': 'other' }, el('th', { scope: 'row' }, 'Other'), ...metricCells(b.other));
    $('top-' + d.dimension).replaceChildren(
      el('caption', null, d.title),
      el('thead', null, el('tr', null, el('th', { scope: 'col' }, d.column), ...d.columns.map(([, label]) => el('th', { scope: 'col' }, label)))),
      el('tbody', null, ...rows, other),
      el('tfoot', null, el('tr', { 'data-row': 'total' }, el('th', { scope: 'row' }, 'Total'), ...metricCells(b.total))));
  }

  function renderRealtime(r, tz) {
    const c = (id, label, value) => el('div', { class: 'card', 'data-realtime': id },
      el('h3', null, label), el('p', { class: 'value' }, num(value, integer.format(value))));
    $('realtime-numbers').replaceChildren(
      c('visitors', 'Visitors, last 30 minutes', r.last_30_minutes.visitors),
      c('pageviews', 'Page views, last 30 minutes', r.last_30_minutes.pageviews),
      c('events', 'Events, last 30 minutes', r.last_30_minutes.events),
      c('hour_events', 'Events since ' + formatTime(r.hour.start, tz, false), r.hour.events));
    const max = Math.max(1, ...r.minutes.map((m) => m.events));
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 300 64');
    svg.setAttribute('preserveAspectRatio', 'none');
    r.minutes.forEach((m, i) => {
      const h = Math.round((m.events / max) * 60);
      const rect = document.createElementNS(ns, 'rect');
      rect.setAttribute('x', String(i * 10 + 1));
      rect.setAttribute('y', String(64 - Math.max(h, 1)));
      rect.setAttribute('width', '8');
      rect.setAttribute('height', String(Math.max(h, 1)));
      const title = document.createElementNS(ns, 'title');
      title.textContent = formatTime(m.start, tz, false) + ': ' + integer.format(m.events) + ' events';
      rect.append(title);
      svg.append(rect);
    });
    $('realtime-bars').replaceChildren(svg);
    $('realtime-note').textContent = 'Events per minute, oldest first, as of ' + formatTime(r.as_of, tz, false) +
      '; updated every ' + REALTIME_MS / 1000 + ' s. Provisional: the current minute and hour are still filling.';
  }

  // noteFreshness keeps the freshness of the newest answer.
  function noteFreshness(f) {
    let prov = f.provisional_as_of;
    const seen = freshness && freshness.provisional_as_of;
    if (seen && (!prov || Date.parse(seen) > Date.parse(prov))) prov = seen;
    freshness = { sealed_through: f.sealed_through, provisional_as_of: prov };
  }

  // renderFreshness says how final and how fresh the numbers are.
  function renderFreshness() {
    if (!freshness) return;
    const tz = $('tz').value;
    const now = Date.now();
    const p = $('freshness');
    p.dataset.sealedThrough = freshness.sealed_through || '';
    let text = freshness.sealed_through
      ? 'Sealed (final) through ' + formatTime(freshness.sealed_through, tz) + ' (' + ago(freshness.sealed_through, now) +
        '); later hours are provisional and may still change.'
      : 'No hour is sealed yet: every number is provisional and may still change.';
    text += freshness.provisional_as_of
      ? ' Provisional numbers were last updated ' + ago(freshness.provisional_as_of, now) + '.'
      : ' The streaming job has not written any numbers yet.';
    p.textContent = text;
  }

  // ---- state ----

  function setState(state) {
    document.body.dataset.state = state;
    const status = $('status');
    if (state === 'loading') status.textContent = 'Loading…';
    if (state === 'ready') status.textContent = 'Updated ' + new Date().toLocaleTimeString(locale) + '.';
    if (state === 'error' || state === 'signed-out') status.textContent = '';
  }

  function showError(e) {
    if (e && e.status !== undefined) {
      $('error-title').textContent = e.status ? 'The query API answered ' + e.title + ':' : e.title + ':';
      $('error-detail').textContent = e.detail;
    } else {
      $('error-title').textContent = 'The dashboard failed:';
      $('error-detail').textContent = String(e);
    }
    $('error').hidden = false;
  }

  function clearPanels() {
    for (const id of ['headline', 'chart-table', 'realtime-numbers', 'realtime-bars', 'top-page', 'top-source', 'top-country', 'top-device']) {
      $(id).replaceChildren();
    }
    if (chart) {
      chart.destroy();
      chart = null;
    }
    $('period').textContent = '';
    $('merchant').textContent = '';
    $('freshness').textContent = '';
    $('realtime-note').textContent = '';
    freshness = null;
  }

  // load reads everything for the chosen range and zone and shows it.
  async function load(quiet) {
    if (!key) return;
    const gen = ++generation;
    if (controller) controller.abort();
    controller = new AbortController();
    const signal = controller.signal;
    const tz = $('tz').value;
    const q = rangeQuery($('range').value, tz, Date.now());
    const common = { from: q.from, to: q.to, tz };
    if (!quiet) setState('loading');
    try {
      const [summary, series, ...tops] = await Promise.all([
        api('summary', { metrics: SUMMARY_METRICS.join(','), ...common }, signal),
        api('timeseries', { metrics: SERIES_METRICS.join(','), interval: q.interval, ...common }, signal),
        ...DIMENSIONS.map((d) => api('breakdown', { dimension: d.dimension, metrics: d.columns.map(([m]) => m).join(','), limit: String(TOP), ...common }, signal)),
      ]);
      if (gen !== generation) return;
      $('error').hidden = true;
      renderHeadline(summary, tz);
      renderChart(series, summary, tz);
      DIMENSIONS.forEach((d, i) => renderTop(d, tops[i]));
      noteFreshness(summary);
      renderFreshness();
      setState('ready');
      document.body.dataset.loads = String(++loads);
      loadRealtime();
    } catch (e) {
      if (gen !== generation || (e && e.name === 'AbortError')) return;
      controller.abort(); // the other requests of this load are moot
      clearPanels();
      showError(e);
      if (e.status === 401) forgetKey(false);
      setState('error');
      document.body.dataset.loads = String(++loads);
    }
  }

  async function loadRealtime() {
    if (!key || document.body.dataset.state !== 'ready') return;
    const gen = generation;
    try {
      const r = await api('realtime', null);
      if (gen !== generation) return;
      renderRealtime(r, $('tz').value);
      noteFreshness(r);
      renderFreshness();
    } catch (e) {
      if (gen !== generation) return;
      $('realtime-numbers').replaceChildren();
      $('realtime-bars').replaceChildren();
      $('realtime-note').textContent = 'Realtime: ' + (e.detail || String(e));
    }
  }

  function forgetKey(clearInput) {
    key = '';
    sessionStorage.removeItem(KEY_STORE);
    if (clearInput) $('key').value = '';
  }

  function saveView() {
    sessionStorage.setItem(VIEW_STORE, JSON.stringify({ range: $('range').value, tz: $('tz').value }));
  }

  function fillZones() {
    const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    let zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    zones = [...new Set([...zones, browserZone, 'UTC'])].sort();
    const now = Date.now();
    $('tz').replaceChildren(...zones.map((z) => {
      const off = zoneOffset(z, now);
      return el('option', { value: z }, off ? z + ' (' + off + ')' : z);
    }));
    $('tz').value = browserZone;
  }

  function init() {
    fillZones();
    try {
      const v = JSON.parse(sessionStorage.getItem(VIEW_STORE) || 'null');
      if (v && [...$('range').options].some((o) => o.value === v.range)) $('range').value = v.range;
      if (v && [...$('tz').options].some((o) => o.value === v.tz)) $('tz').value = v.tz;
    } catch (_) { /* a bad stored view: keep the defaults */ }

    // A link may carry the key in the fragment (#key=...), which never
    // reaches a server; it moves to sessionStorage and leaves the address bar.
    const m = /(?:^#|&)key=([^&]*)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(KEY_STORE, decodeURIComponent(m[1]));
      history.replaceState(null, '', location.pathname + location.search);
    }
    key = sessionStorage.getItem(KEY_STORE) || '';
    $('key').value = key;

    $('key-form').addEventListener('submit', (e) => {
      e.preventDefault();
      key = $('key').value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_STORE, key);
      load(false);
    });
    $('forget').addEventListener('click', () => {
      forgetKey(true);
      generation++;
      if (controller) controller.abort();
      clearPanels();
      $('error').hidden = true;
      setState('signed-out');
      $('key').focus();
    });
    $('controls').addEventListener('submit', (e) => e.preventDefault());
    for (const id of ['range', 'tz']) {
      $(id).addEventListener('change', () => {
        saveView();
        load(false);
      });
    }
    $('refresh').addEventListener('click', () => load(false));

    setInterval(() => {
      if (!document.hidden && document.body.dataset.state === 'ready') loadRealtime();
      renderFreshness();
    }, REALTIME_MS);
    setInterval(() => {
      if (!document.hidden && document.body.dataset.state === 'ready') load(true);
    }, REFRESH_MS);
    if (typeof ResizeObserver === 'function') {
      let width = 0;
      new ResizeObserver(() => {
        const w = $('chart').clientWidth;
        if (chart && w !== width) chart.setSize({ width: Math.max(w, 200), height: chart.height });
        width = w;
      }).observe($('chart'));
    }
    if (key) load(false);
  }

  init();
})();
