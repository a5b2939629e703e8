// The service worker of the H5 pages (served as /m/sw.js so that it controls /m/): with no
// signal the report page still opens from the cache, so a report can be written and kept in
// the outbox. Pages: network first, the cached copy when offline. Our static files: cache
// first (their URLs change with each release only if hashed, so they are refreshed in the
// background). The scripts' catalogue of interface strings (/jsi18n/?lang=…, one copy per
// language: the page names its language in the URL) is kept like a static file, both languages
// from the start, so the report page has its words with no signal. The API is never cached.
const CACHE = "gridgov-m-v2";
const PAGES = ["/m/"];
const CATALOGUES = ["/jsi18n/?lang=zh-hans", "/jsi18n/?lang=en"];

// One request at a time (the server may be busy with the page itself), and one that fails
// spoils none of the others.
async function precache() {
  const cache = await caches.open(CACHE);
  for (const url of [...PAGES, ...CATALOGUES]) await cache.add(url).catch(() => null);
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().catch(() => null).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected) cache.put(request, response.clone());
    return response;
  } catch (e) {
    const hit = await cache.match(request, { ignoreSearch: true, ignoreVary: true }); // Vary: Cookie, Accept-Language
    if (hit) return hit;
    throw e;
  }
}

async function staleWhileRevalidate(request, options) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request, options);
  const refresh = fetch(request).then((r) => { if (r.ok) cache.put(request, r.clone()); return r; }).catch(() => null);
  return hit || (await refresh) || Response.error();
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/mobile/") || url.pathname.startsWith("/static/vendor/leaflet/")) {
    event.respondWith(staleWhileRevalidate(req));
  } else if (url.pathname === "/jsi18n/") {
    event.respondWith(staleWhileRevalidate(req, { ignoreVary: true })); // Vary: Cookie, Accept-Language
  } else if (req.mode === "navigate" && url.pathname === "/m/") {
    event.respondWith(networkFirst(req));
  }
});
