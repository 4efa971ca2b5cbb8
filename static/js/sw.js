// The kiosk's service worker: a kiosk whose browser starts (or reloads) while the server is down
// shows its last page, scripts, styles and pictures from this cache instead of an error page,
// and its script then reconnects by itself. Always the network first, so a new build is never
// hidden behind an old copy; the cache only answers when the network does not. Served as
// <app>/sw.js, so its scope is the app: /operator, /api, /socket.io and the rest are left alone.
"use strict";

var CACHE = "pillow-web-1";
// Where the app is served ("/pillow" behind a proxy prefix, else ""), from the worker's scope.
var ROOT = new URL(self.registration.scope).pathname.replace(/\/$/, "");
// The pages kept (the kiosks and the overview), and their static files. Nothing else.
var PAGE = /^\/(p\/[A-Za-z0-9_-]+|overview)?$/;
var STATIC = /^\/static\/[A-Za-z0-9_./-]+$/;
// A server that accepts the connection and never answers would keep a booting kiosk blank.
var NAVIGATION_TIMEOUT_MS = 5000;

// The app's path of a same-origin URL (without ROOT), or null for anything outside the app.
function appPath(url) {
  if (url.origin !== self.location.origin) return null;
  if (ROOT && url.pathname.indexOf(ROOT + "/") !== 0 && url.pathname !== ROOT) return null;
  return url.pathname.slice(ROOT.length) || "/";
}

// The key a response is kept under: options in the query string are read by the page's script,
// so every screen of one page shares its copy.
function keyOf(url) {
  var key = new URL(url);
  key.search = "";
  key.hash = "";
  return key.href;
}

function keep(request, response) {
  if (!response.ok || response.type !== "basic") return;
  var copy = response.clone();
  caches.open(CACHE).then(function (cache) { return cache.put(keyOf(request.url), copy); })
    .catch(function () { /* storage full or unavailable: only the offline copy is lost */ });
}

// The cached page, marked so that its script knows it is not live (its clock and state are
// as old as the copy): <body data-offline …>. Null when there is none.
function offlinePage(url) {
  return caches.match(keyOf(url)).then(function (cached) {
    if (!cached) return null;
    return cached.text().then(function (html) {
      var headers = new Headers(cached.headers);
      headers.delete("Content-Length");
      return new Response(html.replace("<body ", "<body data-offline "),
                          { status: 200, headers: headers });
    });
  });
}

function cachedCopy(url) {
  return caches.match(keyOf(url)).then(function (cached) { return cached || null; });
}

// The network's answer; the cached copy (from `fallback`) when the network fails, answers with
// a server error (a proxy in front of a server that is down), or takes over `timeoutMs`.
function networkFirst(request, fallback, timeoutMs) {
  function otherwise(response) {
    return fallback(request.url).then(function (copy) {
      return copy || response || Response.error();
    });
  }
  var network = fetch(request).then(function (response) {
    if (response.status >= 500) return otherwise(response);
    keep(request, response);
    return response;
  }, function () { return otherwise(null); });
  if (!timeoutMs) return network;
  var late = new Promise(function (resolve) {
    setTimeout(function () {
      fallback(request.url).then(function (copy) { if (copy) resolve(copy); });
    }, timeoutMs);  // no copy: wait for the network, however long it takes
  });
  return Promise.race([network, late]);
}

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("pillow-web-") === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var path = appPath(new URL(request.url));
  if (path === null) return;
  if (PAGE.test(path) && request.mode === "navigate") {
    // Only navigations fall back: a page's own fetch of itself (is the new build there yet?)
    // must see the server, not this copy.
    event.respondWith(networkFirst(request, offlinePage, NAVIGATION_TIMEOUT_MS));
  } else if (STATIC.test(path)) {
    event.respondWith(networkFirst(request, cachedCopy, 0));
  }
});

// The page names what it needs offline (itself, its scripts, styles and every picture): a
// page loaded before this worker controlled it fetched them without it.
self.addEventListener("message", function (event) {
  var urls = event.data && Array.isArray(event.data.keep) ? event.data.keep : [];
  var wanted = urls.filter(function (url) {
    if (typeof url !== "string") return false;
    var path;
    try { path = appPath(new URL(url, self.location.href)); } catch (error) { return false; }
    return path !== null && (PAGE.test(path) || STATIC.test(path));
  });
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(wanted.map(function (url) {
      var request = new Request(new URL(url, self.location.href).href, { cache: "no-cache" });
      return fetch(request).then(function (response) {
        if (response.ok) return cache.put(keyOf(request.url), response);
      }).catch(function () { /* the server went away meanwhile: kept on the next load */ });
    }));
  }));
});
