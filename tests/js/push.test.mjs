// static/js/push/: the service worker's push and click handling (run in a vm with a fake
// worker scope) and the devices page's rules (docs/streaming-contract.md "Push and e-mail").
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

import { deviceCells, permissionProblem, pushUnsupported, when } from '../../static/js/push/devices-model.js';

const SW = readFileSync(new URL('../../static/js/push/sw.js', import.meta.url), 'utf8');
const ORIGIN = 'https://desk.example';

/** The worker in a fake scope: its listeners, and what it showed and opened. */
function worker(windows = []) {
  const listeners = {};
  const shown = [];
  const opened = [];
  const focused = [];
  const clients = {
    // a window is controlled unless it says otherwise (`controlled: false`)
    matchAll: async (o = {}) => windows.filter((w) => o.includeUncontrolled || w.controlled !== false),
    openWindow: async (url) => { opened.push(url); return null; },
    claim: async () => {},
  };
  for (const w of windows) {
    w.focus = async () => { focused.push(w.url); return w; };
  }
  const self = {
    addEventListener: (name, fn) => { listeners[name] = fn; },
    registration: { showNotification: async (title, options) => { shown.push({ title, options }); } },
    clients,
    location: { origin: ORIGIN },
    skipWaiting: async () => {},
  };
  vm.runInNewContext(SW, { self, URL, caches: {}, fetch: async () => { throw new Error('offline'); } });
  async function fire(name, event) {
    let waited = null;
    listeners[name]({ ...event, waitUntil: (p) => { waited = p; } });
    await waited;
  }
  return { fire, shown, opened, focused };
}

const pushOf = (msg) => ({ data: { json: () => msg } });

test('a push is a notification tagged with its event id, with the page to open', async () => {
  const w = worker();
  await w.fire('push', pushOf({ id: 'alert:7', kind: 'alert', title: 'AAPL alert', body: 'AAPL above 200', url: '/alerts' }));
  // the worker's objects are another realm's: compared as JSON
  assert.deepEqual(JSON.parse(JSON.stringify(w.shown)), [{
    title: 'AAPL alert',
    options: { body: 'AAPL above 200', tag: 'alert:7', icon: '/static/img/icon-192.png', badge: '/static/img/icon-192.png', data: { url: '/alerts', kind: 'alert' } },
  }]);
});

test('an unreadable push still shows a notification (a browser drops silent pushers)', async () => {
  const w = worker();
  await w.fire('push', { data: { json: () => { throw new SyntaxError('bad'); } } });
  await w.fire('push', { data: null });
  assert.deepEqual(w.shown.map((n) => [n.title, n.options.body, n.options.data.url]), [
    ['streamdesk', 'Something happened: open streamdesk.', '/'],
    ['streamdesk', 'Something happened: open streamdesk.', '/'],
  ]);
});

test('a click focuses the window already on the page, else sends one there, else opens one', async () => {
  const click = (url) => ({ notification: { close() {}, data: { url } } });
  const on = { url: `${ORIGIN}/alerts` };
  let w = worker([{ url: `${ORIGIN}/` }, on]);
  await w.fire('notificationclick', click('/alerts'));
  assert.deepEqual([w.focused, w.opened], [[`${ORIGIN}/alerts`], []]);

  const elsewhere = { url: `${ORIGIN}/risk`, navigate: async (url) => { elsewhere.url = url; return elsewhere; } };
  w = worker([elsewhere]);
  await w.fire('notificationclick', click('/alerts'));
  assert.deepEqual([elsewhere.url, w.focused, w.opened], [`${ORIGIN}/alerts`, [`${ORIGIN}/alerts`], []]);

  w = worker([]);
  await w.fire('notificationclick', click('/alerts'));
  assert.deepEqual(w.opened, [`${ORIGIN}/alerts`]);
  w = worker([]);
  await w.fire('notificationclick', click('https://evil.example/phish'));
  assert.deepEqual(w.opened, [`${ORIGIN}/`], 'another origin: the start page instead');
});

test('a click never gets lost on a window the worker cannot send: it opens one instead', async () => {
  const click = (url) => ({ notification: { close() {}, data: { url } } });
  const refused = async () => { throw new TypeError('This service worker is not the client\'s active service worker.'); };
  // a page loaded before the worker was active is not its to send
  const uncontrolled = { url: `${ORIGIN}/risk`, controlled: false, navigate: refused };
  let w = worker([uncontrolled]);
  await w.fire('notificationclick', click('/alerts'));
  assert.deepEqual([uncontrolled.url, w.opened], [`${ORIGIN}/risk`, [`${ORIGIN}/alerts`]]);
  // a navigation that fails all the same
  w = worker([{ url: `${ORIGIN}/risk`, navigate: refused }]);
  await w.fire('notificationclick', click('/alerts'));
  assert.deepEqual(w.opened, [`${ORIGIN}/alerts`]);
  // an uncontrolled window already on the page is focused
  const on = { url: `${ORIGIN}/alerts`, controlled: false };
  w = worker([on]);
  await w.fire('notificationclick', click('/alerts'));
  assert.deepEqual([w.focused, w.opened], [[`${ORIGIN}/alerts`], []]);
});

test('the devices page says why a browser takes no pushes, and each device in words', () => {
  const all = { serviceWorker: true, PushManager: true, Notification: true, standalone: false, ios: false };
  assert.equal(pushUnsupported(all), null);
  assert.match(pushUnsupported({ ...all, ios: true }), /Add to Home Screen/);
  assert.equal(pushUnsupported({ ...all, ios: true, standalone: true }), null);
  assert.equal(pushUnsupported({ ...all, PushManager: false }), 'This browser does not take Web Push.');
  const now = 1_800_000_000_000;
  assert.deepEqual(deviceCells({ host: 'fcm.googleapis.com', created_at: now - 90_000, last_sent_at: null, last_error: null }, now),
    ['fcm.googleapis.com', '2 min ago', 'never', '']);
  assert.equal(when(now - 5_000, now), '5 s ago');
  assert.equal(when(now - 3 * 86_400_000, now), '3 d ago');
  assert.equal(permissionProblem('granted'), null);
  assert.match(permissionProblem('denied'), /blocked/);
  assert.match(permissionProblem('default'), /permission/);
});
