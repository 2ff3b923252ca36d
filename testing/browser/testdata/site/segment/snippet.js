// A minimal loader in the spirit of Segment's snippet: it queues calls on
// window.analytics until the real library (served by this site from the
// npm package, /vendor/analytics-next/standalone.js) replaces it. _cdn
// points the library at footfall ingest for its settings document.
window.analytics = [];
['page', 'track', 'identify', 'group', 'alias', 'screen', 'ready', 'reset'].forEach(function (m) {
  window.analytics[m] = function () {
    window.analytics.push([m].concat(Array.prototype.slice.call(arguments)));
    return window.analytics;
  };
});
window.analytics._writeKey = '{{WRITE_KEY}}';
window.analytics._cdn = '{{INGEST}}';
window.analytics._loadOptions = window.segmentLoadOptions || {};
window.analytics.page();
(function () {
  var s = document.createElement('script');
  s.async = true;
  s.src = '/vendor/analytics-next/standalone.js';
  document.head.appendChild(s);
})();
