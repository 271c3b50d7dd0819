/*
 * "Raised once per browser" (docs/streaming-contract.md "Notifications"): the record of
 * the notification keys this browser raised, in IndexedDB (`streamdesk.notified.<user>`,
 * key → ms). Claiming is one readwrite transaction (read the key, record it if absent):
 * the browser runs overlapping readwrite transactions one at a time, for all its tabs,
 * so of two tabs that derive the same fill exactly one claims it, and a reload finds it.
 *
 * localStorage under a Web Lock is not that: Chromium keeps a copy of localStorage per
 * renderer process and another tab's write reaches it later, after the lock has passed
 * on, so the next tab could read a record without the key and raise it a second time.
 * It remains the fallback where IndexedDB is missing or fails (a notification twice
 * beats none).
 */
import { NOTIFIED_MAX, NOTIFIED_TTL_MS, claim } from '../notify.js';

const STORE = 'claims';
const LOCK_NAME = 'streamdesk.notify';

/** `{claim(key) -> Promise<boolean>}`: true when this tab raises `key` (now recorded). */
export function createClaims({ indexedDB, storage, locks, user, now = () => Date.now() }) {
  let db = null; // a promise of the database, or of null without one

  function fallback(key) {
    const run = () => claim(storage, user, key, now());
    if (locks && typeof locks.request === 'function') return locks.request(LOCK_NAME, run).catch(() => run());
    return Promise.resolve(run());
  }

  return {
    async claim(key) {
      if (!db) db = openDb(indexedDB, `streamdesk.notified.${user}`).catch(() => null);
      const d = await db;
      if (!d) return fallback(key);
      try {
        return await claimIn(d, key, now());
      } catch (e) {
        db = null; // closed under us, say: open it again next time
        return fallback(key);
      }
    },
  };
}

function openDb(idb, name) {
  return new Promise((resolve, reject) => {
    if (!idb || typeof idb.open !== 'function') throw new Error('no IndexedDB');
    const req = idb.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => {
      const d = req.result;
      d.onversionchange = () => d.close(); // a newer page's upgrade must not wait on us
      resolve(d);
    };
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('IndexedDB blocked'));
  });
}

/** Claim `key` in one readwrite transaction; resolves once it is committed. The record
 *  keeps the newest NOTIFIED_MAX keys younger than NOTIFIED_TTL_MS. */
export function claimIn(db, key, at) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, 'readwrite');
    const store = tx.objectStore(STORE);
    let mine = false;
    const got = store.get(key);
    got.onsuccess = () => {
      if (typeof got.result === 'number' && at - got.result < NOTIFIED_TTL_MS) return;
      mine = true;
      store.put(at, key);
      const count = store.count();
      count.onsuccess = () => { if (count.result > NOTIFIED_MAX) prune(store, at); };
    };
    tx.oncomplete = () => resolve(mine);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** Drop the expired keys, then the oldest beyond NOTIFIED_MAX (inside the claim's transaction). */
function prune(store, now) {
  const keys = store.getAllKeys();
  const ats = store.getAll();
  ats.onsuccess = () => {
    const entries = keys.result.map((k, i) => [k, ats.result[i]]);
    const live = entries.filter(([, t]) => typeof t === 'number' && now - t < NOTIFIED_TTL_MS);
    live.sort((a, b) => a[1] - b[1]);
    const keep = new Set(live.slice(-NOTIFIED_MAX).map(([k]) => k));
    for (const [k] of entries) if (!keep.has(k)) store.delete(k);
  };
}
