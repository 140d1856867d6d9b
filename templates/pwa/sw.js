/* The loyalty card's service worker (members.views_app.service_worker renders this file).

   What it keeps:
   - "shell-<version>": public files (styles, script, the brand's colours, the offline page);
   - "card": ONE personal page, the card (QR code, barcode, number, balance as of when it was
     read), so a member at a till without signal can still show it.
   Nothing else personal is ever stored: every other page goes to the network, and without a
   connection the offline page answers instead.

   The card goes when the member does: logging out clears the site's storage
   (Clear-Site-Data) and app.js also tells this worker ("logout"); a card request answered
   with a redirect to the login page (session over) or a refusal drops the kept card, so one
   login never sees the card of another. */
"use strict";

const CONFIG = {{ config|safe }};
const SHELL = "shell-" + CONFIG.version;
const CARD = "card";

function isCardPage(response) {
  return response.ok && !response.redirected && response.headers.get("X-Loyalty-Card") === "1";
}

function isLoggedOut(response) {
  return response.type === "opaqueredirect" || response.redirected ||
    response.status === 401 || response.status === 403;
}

async function keepCard(response) {
  const cache = await caches.open(CARD);
  if (isCardPage(response)) {
    await cache.put(CONFIG.cardUrl, response);
  } else if (isLoggedOut(response)) {
    await cache.delete(CONFIG.cardUrl);
  }
}

async function refreshCard() {
  let response;
  try {
    response = await fetch(CONFIG.cardUrl, { credentials: "same-origin", cache: "no-store" });
  } catch (error) {
    return; // no connection: keep the card we have
  }
  await keepCard(response);
}

function forgetCard() {
  return caches.delete(CARD);
}

async function offlinePage() {
  const page = await caches.match(CONFIG.offlineUrl, { cacheName: SHELL });
  return page || new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain" } });
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL)
      .then((cache) => cache.addAll(CONFIG.shell))
      .then(refreshCard)
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key !== SHELL && key !== CARD).map((key) => caches.delete(key))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "logout") {
    event.waitUntil(forgetCard());
  } else if (event.data === "refresh-card") {
    event.waitUntil(refreshCard());
  }
});

async function cardNavigation(event, path) {
  let response;
  try {
    response = await fetch(event.request);
  } catch (error) {
    const kept = await caches.match(CONFIG.cardUrl, { cacheName: CARD, ignoreVary: true });
    return kept || offlinePage();
  }
  if (path === CONFIG.cardUrl) {
    event.waitUntil(keepCard(response.clone()));
  } else if (isLoggedOut(response)) {
    event.waitUntil(forgetCard());
  } else if (response.ok) {
    event.waitUntil(refreshCard()); // the account page: bring the kept card up to date
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    if (url.pathname === CONFIG.cardUrl || url.pathname === CONFIG.homeUrl) {
      event.respondWith(cardNavigation(event, url.pathname));
    } else {
      event.respondWith(fetch(request).catch(offlinePage));
    }
    return;
  }
  if (CONFIG.shell.includes(url.pathname + url.search)) {
    event.respondWith(
      caches.match(request, { cacheName: SHELL }).then((kept) => kept || fetch(request))
    );
  }
});
