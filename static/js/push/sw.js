/*
 * streamdesk's service worker (served at /sw.js, scope "/"; docs/streaming-contract.md
 * "Push and e-mail"). A classic script: every browser that takes Web Push runs it.
 * - push: the message (`{id, kind, title, body, url}`) becomes a notification tagged with
 *   the event's id, so a repeat, or the page's own notification of that event, replaces it
 *   instead of adding one; every push shows one (Safari drops silent pushers).
 * - notificationclick: focus a window already on the page, else one of the app's windows
 *   sent there, else a new one; only the app's own pages.
 * - offline: a page that cannot be reached shows the app's offline page, not the browser's.
 */
'use strict';

const SHELL = 'streamdesk-shell-v1';
const OFFLINE_URL = '/offline';
const ICON = '/static/img/icon-192.png';

/** The push's message, or one that says an event came (an unreadable push still shows). */
function readPush(data) {
  let msg = null;
  try { msg = data ? data.json() : null; } catch (e) { msg = null; }
  if (!msg || typeof msg !== 'object') msg = {};
  const text = (v, d) => (typeof v === 'string' && v ? v : d);
  return {
    id: text(msg.id, 'streamdesk'), kind: text(msg.kind, 'alert'),
    title: text(msg.title, 'streamdesk'), body: text(msg.body, 'Something happened: open streamdesk.'),
    url: text(msg.url, '/'),
  };
}

/** The notification's title and options. */
function notificationOf(msg) {
  return [msg.title, { body: msg.body, tag: msg.id, icon: ICON, badge: ICON, data: { url: msg.url, kind: msg.kind } }];
}

/** `url` on this origin (a path or a same-origin URL), else the start page. */
function sameOrigin(url, origin) {
  try {
    const u = new URL(String(url || '/'), origin);
    return u.origin === origin ? u.href : `${origin}/`;
  } catch (e) {
    return `${origin}/`;
  }
}

/**
 * Focus a window on `url`, else send one of ours there, else open one. Only a window this
 * worker controls can be sent (`navigate` refuses the others: a page loaded before the
 * worker was active), so with none of those a new window opens.
 */
async function openOrFocus(clients, url) {
  const all = await clients.matchAll({ type: 'window', includeUncontrolled: true });
  const there = all.find((c) => c.url === url);
  if (there) return there.focus();
  const controlled = await clients.matchAll({ type: 'window' });
  const ours = controlled.find((c) => 'navigate' in c);
  if (ours) {
    try {
      const moved = await ours.navigate(url);
      if (moved) return moved.focus();
    } catch (e) {
      // not ours to send after all: open one instead
    }
  }
  return clients.openWindow(url);
}

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(SHELL).then((cache) => cache.add(OFFLINE_URL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  if (event.request.mode !== 'navigate') return;
  event.respondWith(fetch(event.request).catch(() => caches.match(OFFLINE_URL)));
});

self.addEventListener('push', (event) => {
  const [title, options] = notificationOf(readPush(event.data));
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  event.waitUntil(openOrFocus(self.clients, sameOrigin(data.url, self.location.origin)));
});
