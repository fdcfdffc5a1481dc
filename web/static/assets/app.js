// Starts GraphiQL against the hub's same-origin /graphql endpoint.
// Everything this page loads comes from the server's embedded assets; the
// Content-Security-Policy only allows 'self' (plus data: images and fonts,
// which graphiql.min.css uses for its embedded fonts).
(function () {
  'use strict';

  // Some GraphiQL components (react-remove-scroll, used by dialogs and menus)
  // insert a <style> element at run time and tag it with
  // window.__webpack_nonce__ when set. The server issues a fresh nonce per page
  // load, so the CSP does not need style-src 'unsafe-inline'.
  var nonceMeta = document.querySelector('meta[name="lindung-csp-nonce"]');
  if (nonceMeta && nonceMeta.content && nonceMeta.content.indexOf('__') !== 0) {
    window.__webpack_nonce__ = nonceMeta.content;
  }

  var defaultQuery = [
    '# Lindung GraphQL',
    '#',
    '# 1. Get a token (run in the repository root):',
    '#    go run ./cmd/lindung token \\',
    '#      --partner kpwkm --role protection_officer',
    '# 2. In Headers below, put it in place of',
    '#    PASTE-TOKEN-HERE.',
    '# 3. Also send X-Lindung-Purpose, the reason',
    '#    for the access, e.g.',
    '#    "X-Lindung-Purpose": "CASE_MANAGEMENT"',
    '#',
    '# Headers are not saved by the browser.',
    '# Run with Ctrl-Enter or the play button.',
    '',
    '{',
    '  __typename',
    '}',
    ''
  ].join('\n');

  var defaultHeaders = '{"Authorization": "Bearer PASTE-TOKEN-HERE"}';

  // shouldPersistHeaders: false keeps headers out of the saved tabs, but
  // graphiql 4's history plugin still saves each run's headers (bearer token
  // included) under graphiql:queries and graphiql:favorites. This Storage
  // wrapper around localStorage drops every "headers" value before anything
  // is written, and never writes the graphiql:headers key itself.
  var namespace = 'graphiql:';

  function stripHeaders(value) {
    if (Array.isArray(value)) {
      value.forEach(stripHeaders);
    } else if (value && typeof value === 'object') {
      Object.keys(value).forEach(function (k) {
        if (k === 'headers') {
          value[k] = null;
        } else {
          stripHeaders(value[k]);
        }
      });
    }
    return value;
  }

  function sanitize(key, value) {
    if (key === namespace + 'headers') {
      return null;
    }
    try {
      return JSON.stringify(stripHeaders(JSON.parse(value)));
    } catch (e) {
      return value; // not JSON, e.g. the raw query text
    }
  }

  var storage = {
    getItem: function (key) {
      return window.localStorage.getItem(key);
    },
    setItem: function (key, value) {
      var clean = sanitize(key, String(value));
      if (clean === null) {
        window.localStorage.removeItem(key);
      } else {
        window.localStorage.setItem(key, clean);
      }
    },
    removeItem: function (key) {
      window.localStorage.removeItem(key);
    },
    clear: function () {
      Object.keys(window.localStorage).forEach(function (key) {
        if (key.indexOf(namespace) === 0) {
          window.localStorage.removeItem(key);
        }
      });
    },
    get length() {
      return Object.keys(window.localStorage).filter(function (key) {
        return key.indexOf(namespace) === 0;
      }).length;
    }
  };

  // Scrub anything an earlier page version may have saved.
  try {
    Object.keys(window.localStorage).forEach(function (key) {
      if (key.indexOf(namespace) === 0) {
        storage.setItem(key, window.localStorage.getItem(key));
      }
    });
  } catch (e) {
    // localStorage unavailable (e.g. blocked); GraphiQL copes without it.
  }

  var fetcher = GraphiQL.createFetcher({
    // Same origin as this page; no subscriptions (no WebSocket URL).
    url: '/graphql'
  });

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: defaultHeaders,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: 'headers',
      // Keep bearer tokens out of localStorage, and do not offer the setting.
      shouldPersistHeaders: false,
      showPersistHeadersSettings: false,
      storage: storage
    })
  );
})();
