// "One desktop notification per event, per browser" with several tabs
// (static/js/stream/render/notifications.js): two tabs that derive the same fill at once
// raise it once between them, and a reload does not raise it again.
//
// The fakes model Chromium: localStorage is a copy per tab (per renderer process) that
// other tabs' writes reach only later, after a Web Lock has passed on; IndexedDB runs
// overlapping readwrite transactions one at a time in the browser, for every tab.
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { createClaims } from '../../static/js/stream/io/claims.js';
import { NOTIFIED_MAX, NOTIFIED_TTL_MS } from '../../static/js/stream/notify.js';
import { applyFrame, applySnapshot, initialState } from '../../static/js/stream/state.js';

// render/dom.js reads `window` when loaded (reduced motion); nothing else of it is used here
globalThis.window ??= {};
const { createNotifications } = await import('../../static/js/stream/render/notifications.js');

const T = 1_760_000_000_000;
const fill = (id, quantity) => ({ id, quantity, price: 410.5, at: T });
const order = (id, status, fills = []) => ({
  id, status, order_type: 'Market', underlying: 'MSFT', updated_at: T,
  legs: [{ symbol: 'MSFT', instrument_type: 'Equity', action: 'Buy to Open', quantity: 1, remaining_quantity: 1, fills }],
});
const snap = (orders) => ({
  type: 'snapshot', epoch: 'E1', seq: 5, simulated: true, accounts: [], quotes: {}, greeks: {},
  orders: orders.map((o) => ({ ...o, link: 1, account: 'T1' })), links: [], watchlist: { symbols: [], version: 1 }, t: T,
});
const orderFrame = (seq, o) => ({ type: 'order', epoch: 'E1', seq, t: T, simulated: true, account: 'T1', link: 1, order: o });

/** Chromium's localStorage: each tab reads its own copy; a write reaches the others later. */
function perProcessStorage() {
  const saved = new Map(); // what a new page loads
  const caches = [];
  return () => {
    const cache = new Map(saved);
    caches.push(cache);
    return {
      getItem: (k) => (cache.has(k) ? cache.get(k) : null),
      setItem: (k, v) => {
        cache.set(k, String(v));
        setTimeout(() => { for (const c of [saved, ...caches]) c.set(k, String(v)); }, 0);
      },
    };
  };
}

/** navigator.locks: one holder at a time, in the order asked. */
function fakeLocks() {
  let chain = Promise.resolve();
  return {
    request(name, cb) {
      const run = chain.then(() => cb());
      chain = run.catch(() => {});
      return run;
    },
  };
}

/** IndexedDB, what the claims use of it: one shared store per database name, readwrite
 *  transactions run one at a time, requests answered asynchronously. */
function fakeIndexedDB() {
  const dbs = new Map();
  let chain = Promise.resolve();
  return {
    dbs,
    open(name) {
      const req = {};
      queueMicrotask(() => {
        const fresh = !dbs.has(name);
        if (fresh) dbs.set(name, new Map());
        const data = dbs.get(name);
        req.result = {
          createObjectStore() {},
          close() {},
          transaction() {
            const pending = [];
            const tx = {};
            const request = (op) => { const r = {}; pending.push([r, op]); return r; };
            tx.objectStore = () => ({
              get: (k) => request(() => data.get(k)),
              put: (v, k) => request(() => { data.set(k, v); return k; }),
              delete: (k) => request(() => { data.delete(k); }),
              count: () => request(() => data.size),
              getAllKeys: () => request(() => [...data.keys()]),
              getAll: () => request(() => [...data.values()]),
            });
            chain = chain.then(async () => {
              await null; // requests are made after transaction() returns
              while (pending.length) {
                const [r, op] = pending.shift();
                r.result = op();
                await null;
                if (r.onsuccess) r.onsuccess();
              }
              if (tx.oncomplete) tx.oncomplete();
            });
            return tx;
          },
        };
        if (fresh && req.onupgradeneeded) req.onupgradeneeded();
        req.onsuccess();
      });
      return req;
    },
  };
}

/** One browser (its storage, locks, IndexedDB), whose tabs each run a notifier. */
function fakeBrowser({ indexedDB = fakeIndexedDB() } = {}) {
  const storage = perProcessStorage();
  const locks = fakeLocks();
  return {
    tab(pageSnapshot) {
      const notified = [];
      function Notification(title, options) { notified.push(options.tag); }
      Notification.permission = 'granted';
      const win = {
        localStorage: storage(), navigator: { locks }, indexedDB, Notification,
        setInterval() {}, setTimeout: (fn, ms) => setTimeout(fn, ms), focus() {},
      };
      const doc = {
        getElementById: (id) => (id === 'notify' ? { getAttribute: () => null } : null),
        addEventListener() {},
        cookie: '',
      };
      const n = createNotifications(doc, win, { user: 'demo', message() {} });
      let state = applySnapshot(initialState(), pageSnapshot, 'page');
      n.seed(pageSnapshot);
      return {
        notified,
        notifier: n,
        /** Apply a frame; resolves once what it raised is settled (claims included). */
        feed(frame) {
          const next = applyFrame(state, frame);
          const raised = n.observe(state, next, frame);
          state = next;
          return raised;
        },
      };
    },
  };
}

test('two tabs get the same fill at once: one desktop notification between them, a toast in each', async () => {
  const browser = fakeBrowser();
  const page = snap([order('9', 'Live')]);
  const tabs = [browser.tab(page), browser.tab(page)];
  const filled = orderFrame(6, order('9', 'Filled', [fill('F1', 1)]));
  await Promise.all(tabs.map((t) => t.feed(filled))); // the leader's socket, and its relay
  assert.deepEqual([...tabs[0].notified, ...tabs[1].notified], ['fill:1:9:F1']);
  for (const t of tabs) assert.deepEqual(t.notifier.snapshot().history.map((h) => h.key), ['fill:1:9:F1']);

  // a page loaded later (a reload) that derives it again: no second desktop notification
  const reloaded = browser.tab(page);
  await reloaded.feed(filled);
  assert.deepEqual(reloaded.notified, []);
});

test('many fills, each derived by two tabs: each raised on the desktop exactly once', async () => {
  const browser = fakeBrowser();
  const orders = Array.from({ length: 30 }, (_, i) => order(String(100 + i), 'Live'));
  const page = snap(orders);
  const tabs = [browser.tab(page), browser.tab(page)];
  for (let i = 0; i < orders.length; i += 1) {
    const frame = orderFrame(6 + i, order(String(100 + i), 'Filled', [fill(`F${i}`, 1)]));
    await Promise.all(tabs.map((t) => t.feed(frame)));
  }
  const raised = [...tabs[0].notified, ...tabs[1].notified].sort();
  assert.deepEqual(raised, orders.map((o, i) => `fill:1:${o.id}:F${i}`).sort());
});

test('without IndexedDB the localStorage record still keeps a reload from raising it again', async () => {
  const browser = fakeBrowser({ indexedDB: undefined });
  const page = snap([order('9', 'Live')]);
  const filled = orderFrame(6, order('9', 'Filled', [fill('F1', 1)]));
  const first = browser.tab(page);
  await first.feed(filled);
  assert.deepEqual(first.notified, ['fill:1:9:F1']);
  await new Promise((resolve) => { setTimeout(resolve, 0); }); // the write reaches other pages
  const reloaded = browser.tab(page);
  await reloaded.feed(filled);
  assert.deepEqual(reloaded.notified, []);
});

test('the IndexedDB record: the newest NOTIFIED_MAX keys, none older than the TTL', async () => {
  const indexedDB = fakeIndexedDB();
  let now = T;
  const claims = createClaims({ indexedDB, storage: null, locks: null, user: 'u', now: () => now });
  for (let i = 0; i < NOTIFIED_MAX + 20; i += 1) {
    now = T + i;
    assert.equal(await claims.claim(`alert:${i}`), true);
  }
  const record = indexedDB.dbs.get('streamdesk.notified.u');
  assert.equal(record.size, NOTIFIED_MAX);
  assert.equal(record.has('alert:19'), false);
  assert.equal(record.get('alert:20'), T + 20);
  assert.equal(await claims.claim('alert:20'), false);
  now = T + NOTIFIED_TTL_MS + 600; // all expired: claimable again
  assert.equal(await claims.claim('alert:20'), true);
});
