// Service worker of the door check-in app, served as /events/door-sw.js (scope /events/) so that
// a door page reloaded without network still opens. It only handles what the door app needs:
// - door pages (/events/<id>/door) and their full attendee list (roster.json without ?since):
//   network first, the last good answer kept for offline;
// - the app's own files (site.css, door.js, jsQR): cache first, fetched at install;
// - everything else, and every POST (the sync), goes to the network untouched.
// Static files are not fingerprinted: bump VERSION whenever site.css, door.js or jsQR change,
// so that phones drop the old copies.
"use strict";

const VERSION = "v1";
const CACHE = "juhui-door-" + VERSION;
const SCOPE = new URL("./", self.location.href); // /events/ (or below a mount prefix)
const ASSETS = ["../static/css/site.css", "../static/js/door.js",
  "../static/vendor/jsqr/dist/jsQR.js"].map((path) => new URL(path, self.location.href).href);
const DOOR_PAGE = /\/\d+\/door$/;
const ROSTER = /\/\d+\/door\/roster\.json$/;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS))
    .then(() => self.skipWaiting()));
});

// A new version drops the old files but keeps the door pages and lists already seen: a phone
// that updates and then loses the network must still open them.
async function moveVisitedPages(oldName, cache) {
  const old = await caches.open(oldName);
  for (const request of await old.keys()) {
    const path = new URL(request.url).pathname;
    if (DOOR_PAGE.test(path) || ROSTER.test(path)) {
      const response = await old.match(request);
      if (response && !(await cache.match(request))) { await cache.put(request, response); }
    }
  }
  await caches.delete(oldName);
}

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const names = (await caches.keys())
      .filter((name) => name.startsWith("juhui-door-") && name !== CACHE);
    for (const name of names) { await moveVisitedPages(name, cache); }
    await self.clients.claim();
  })());
});

function inScope(url) {
  return url.origin === SCOPE.origin && url.pathname.startsWith(SCOPE.pathname);
}

// What a request is for: "page", "roster" (the full list only), "asset" or null (not ours).
function kindOf(request) {
  if (request.method !== "GET") { return null; }
  const url = new URL(request.url);
  if (ASSETS.includes(url.origin + url.pathname)) { return "asset"; }
  if (!inScope(url)) { return null; }
  if (DOOR_PAGE.test(url.pathname)) { return "page"; }
  if (ROSTER.test(url.pathname) && !url.searchParams.has("since")) { return "roster"; }
  return null;
}

// Only a plain successful answer is worth keeping (not the login page after a redirect).
function keepable(response) {
  return response.ok && !response.redirected && response.type === "basic";
}

function cacheKey(request) {
  const url = new URL(request.url);
  return url.origin + url.pathname;
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (keepable(response)) { await cache.put(cacheKey(request), response.clone()); }
    return response;
  } catch (error) {
    const cached = await cache.match(cacheKey(request), { ignoreVary: true });
    if (cached) { return cached; }
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(cacheKey(request), { ignoreVary: true });
  if (cached) { return cached; }
  const response = await fetch(request);
  if (keepable(response)) { await cache.put(cacheKey(request), response.clone()); }
  return response;
}

self.addEventListener("fetch", (event) => {
  const kind = kindOf(event.request);
  if (kind === "asset") {
    event.respondWith(cacheFirst(event.request));
  } else if (kind === "page" || kind === "roster") {
    event.respondWith(networkFirst(event.request));
  }
});

// The door page asks, on every load, that it and its list be kept; it loaded before this worker
// controlled it the first time, so the fetch handler has not seen them yet. Answers {ok} once
// everything needed to open offline is in the cache.
async function remember(urls) {
  const cache = await caches.open(CACHE);
  const wanted = urls.map((url) => new URL(url, self.location.href))
    .filter((url) => inScope(url) && (DOOR_PAGE.test(url.pathname) || ROSTER.test(url.pathname)))
    .map((url) => url.origin + url.pathname);
  await Promise.all(wanted.concat(ASSETS).map(async (url) => {
    if (await cache.match(url, { ignoreVary: true })) { return; }
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (keepable(response)) { await cache.put(url, response); }
    } catch (error) {
      // Offline: whatever is already cached is all there is.
    }
  }));
  const present = await Promise.all(wanted.concat(ASSETS)
    .map((url) => cache.match(url, { ignoreVary: true })));
  return present.every(Boolean);
}

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "remember" || !Array.isArray(data.urls)) { return; }
  const port = event.ports[0];
  event.waitUntil(remember(data.urls).then((ok) => { if (port) { port.postMessage({ ok }); } }));
});
