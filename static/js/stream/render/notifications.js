/*
 * Notifications on the page (docs/streaming-contract.md "Notifications"): the events
 * notify.js derives from each reducer step become a toast (every tab), an entry in the
 * bell's history, and, once per browser (a claim in IndexedDB, io/claims.js), a
 * desktop notification and an optional beep. Desktop permission is asked for only from the
 * button's click; the user's settings come embedded in the page and are saved with PUT.
 *
 * For tests: `snapshot()` returns {history, toasts, desktop (raised here), beeps, settings,
 * permission}.
 */
import { createClaims } from '../io/claims.js';
import { el, setText } from './dom.js';
import { fmt } from '../format.js';
import {
  HISTORY_SIZE, addToHistory, ageText, createTracker, deriveEvents, notificationText, seedTracker,
  settingsOf, wanted,
} from '../notify.js';

const TOAST_MS = 8000;
const SETTING_NAMES = ['fills', 'rejections', 'alerts', 'desktop', 'sound'];

/** The page's notifications, or null on a page without the bell (`#notify`). */
export function createNotifications(doc, win, { user, message }) {
  const root = doc.getElementById('notify');
  if (!root) return null;
  const $ = (id) => doc.getElementById(id);
  const els = {
    bell: $('notify-bell'), count: $('notify-count'), panel: $('notify-panel'), list: $('notify-history'),
    empty: $('notify-empty'), clear: $('notify-clear'), toasts: $('notify-toasts'), form: $('notify-settings'),
    permission: $('notify-permission'), permissionState: $('notify-permission-state'),
  };
  const url = root.getAttribute('data-settings-url') || '/api/notifications/settings';
  let settings = settingsOf(readJSON(doc, 'notification-settings'));
  let tracker = createTracker();
  let history = []; // newest first: {key, kind, title, body, at}
  let unseen = 0;
  const stats = { desktop: [], beeps: 0, toasts: 0 };
  let audio = null;

  const storage = (() => { try { return win.localStorage; } catch (e) { return null; } })();
  const indexedDB = (() => { try { return win.indexedDB; } catch (e) { return null; } })();
  const claims = createClaims({ indexedDB, storage, locks: win.navigator && win.navigator.locks, user });
  const hasNotification = typeof win.Notification === 'function';
  const permission = () => (hasNotification ? win.Notification.permission : 'unsupported');

  /** Claim the event for this browser: true if this tab raises it (io/claims.js). */
  const claimed = (key) => claims.claim(key);

  function raise(e) {
    const { title, body } = notificationText(e);
    const item = { key: e.key, kind: e.kind, title, body, at: Date.now(), partial: !!e.partial };
    if (!wanted(e, settings)) {
      return claimed(e.key); // recorded all the same: turning the kind on later replays nothing
    }
    history = addToHistory(history.filter((h) => h.key !== item.key), item, HISTORY_SIZE);
    if (els.panel && els.panel.hidden) unseen += 1;
    toast(item);
    drawHistory();
    return claimed(e.key).then((mine) => {
      if (!mine) return;
      if (settings.sound) beep();
      if (settings.desktop && permission() === 'granted') desktop(item);
    });
  }

  function desktop(item) {
    try {
      const n = new win.Notification(item.title, { body: item.body, tag: item.key });
      n.onclick = () => { try { win.focus(); } catch (e) { /* not allowed */ } n.close(); };
      stats.desktop.push(item.key);
    } catch (e) {
      // e.g. Chrome on Android only notifies from a service worker: the toast remains
    }
  }

  function beep() {
    const Ctx = win.AudioContext || win.webkitAudioContext;
    if (!Ctx) return;
    try {
      audio = audio || new Ctx();
      if (audio.state === 'suspended') audio.resume();
      const t = audio.currentTime;
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.setValueAtTime(880, t);
      osc.frequency.setValueAtTime(1320, t + 0.09);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.2, t + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.22);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.25);
      stats.beeps += 1;
    } catch (e) {
      // no audio device: silent
    }
  }

  // ---------------------------------------------------------------- toasts and history

  function toast(item) {
    if (!els.toasts) return;
    const close = el('button', { type: 'button', class: 'msg-close', 'aria-label': 'Dismiss' }, '×');
    const node = el('div', { class: `toast toast-${item.kind}`, 'data-key': item.key, role: 'status' },
      el('div', { class: 'toast-text' }, el('strong', { class: 'toast-title' }, item.title), el('span', { class: 'toast-body' }, item.body)),
      close);
    close.addEventListener('click', () => node.remove());
    els.toasts.prepend(node);
    while (els.toasts.children.length > 4) els.toasts.lastElementChild.remove();
    stats.toasts += 1;
    win.setTimeout(() => node.remove(), TOAST_MS);
  }

  function drawHistory() {
    if (els.list) {
      const now = Date.now();
      const nodes = history.map((h) => {
        const dismiss = el('button', { type: 'button', class: 'msg-close', 'data-dismiss': h.key, 'aria-label': 'Dismiss', title: 'Dismiss' }, '×');
        dismiss.addEventListener('click', () => { history = history.filter((x) => x.key !== h.key); drawHistory(); });
        return el('li', { class: `notify-item notify-${h.kind}`, 'data-key': h.key, 'data-kind': h.kind },
          el('div', { class: 'notify-text' },
            el('strong', { 'data-field': 'title' }, h.title),
            el('span', { 'data-field': 'body' }, h.body),
            el('span', { class: 'notify-when muted' },
              el('time', { 'data-field': 'time', datetime: new Date(h.at).toISOString() }, fmt.time(h.at)), ' · ',
              el('span', { 'data-field': 'age', 'data-at': h.at }, ageText(h.at, now)))),
          dismiss);
      });
      els.list.replaceChildren(...nodes);
    }
    if (els.empty) els.empty.hidden = history.length > 0;
    if (els.count) {
      els.count.hidden = unseen === 0;
      setText(els.count, String(unseen));
    }
  }

  function tick() {
    if (!els.list || !els.panel || els.panel.hidden) return;
    const now = Date.now();
    for (const age of els.list.querySelectorAll('[data-field="age"]')) setText(age, ageText(Number(age.getAttribute('data-at')), now));
  }

  // ---------------------------------------------------------------- controls

  if (els.bell && els.panel) {
    els.bell.addEventListener('click', () => {
      els.panel.hidden = !els.panel.hidden;
      els.bell.setAttribute('aria-expanded', String(!els.panel.hidden));
      if (!els.panel.hidden) { unseen = 0; drawHistory(); tick(); }
    });
  }
  if (els.clear) els.clear.addEventListener('click', () => { history = []; unseen = 0; drawHistory(); });

  function drawPermission() {
    const p = permission();
    if (els.permission) els.permission.hidden = p !== 'default';
    const words = {
      granted: settings.desktop ? 'Desktop notifications are on.' : 'Desktop notifications are allowed, but turned off above.',
      denied: 'Desktop notifications are blocked for this site in the browser: toasts and sound still work.',
      unsupported: 'This browser has no desktop notifications: toasts and sound still work.',
      default: 'Desktop notifications need your permission.',
    };
    if (els.permissionState) {
      els.permissionState.setAttribute('data-permission', p);
      setText(els.permissionState, words[p] || '');
    }
  }

  if (els.permission) {
    els.permission.addEventListener('click', async () => {
      unlockAudio();
      if (!hasNotification) { drawPermission(); return; }
      try {
        await win.Notification.requestPermission();
      } catch (e) {
        // an old callback-only API: the state below says what happened
      }
      drawPermission();
    });
  }

  /** Browsers start audio only after a gesture: make the context on the first one. */
  function unlockAudio() {
    if (!settings.sound || audio) return;
    const Ctx = win.AudioContext || win.webkitAudioContext;
    if (Ctx) { try { audio = new Ctx(); } catch (e) { audio = null; } }
  }
  doc.addEventListener('pointerdown', unlockAudio, { passive: true });
  doc.addEventListener('keydown', unlockAudio);

  function drawSettings() {
    if (!els.form) return;
    for (const name of SETTING_NAMES) {
      const box = els.form.elements.namedItem(name);
      if (box) box.checked = settings[name];
    }
  }

  if (els.form) {
    els.form.addEventListener('submit', (ev) => ev.preventDefault());
    els.form.addEventListener('change', async (ev) => {
      const box = ev.target;
      if (!box || !SETTING_NAMES.includes(box.name)) return;
      const change = { [box.name]: box.checked };
      const before = settings;
      settings = { ...settings, ...change }; // at once: the next event already obeys it
      if (change.sound) unlockAudio();
      drawPermission();
      els.form.setAttribute('data-saving', 'true');
      try {
        const r = await win.fetch(url, {
          method: 'PUT',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken(doc, els.form) },
          body: JSON.stringify(change),
        });
        const body = await r.json().catch(() => ({}));
        if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
        settings = settingsOf(body);
        els.form.setAttribute('data-saved', String(Date.now()));
      } catch (e) {
        settings = before;
        message(`Notification settings not saved: ${e.message}`, 'error');
      } finally {
        els.form.removeAttribute('data-saving');
        drawSettings();
        drawPermission();
      }
    });
  }

  drawSettings();
  drawPermission();
  drawHistory();
  win.setInterval(tick, 1000);

  return {
    /** The page's own snapshot: its orders and triggers are history, not news. */
    seed(snap) { tracker = seedTracker(tracker, snap); },
    /** One reducer step `prev` → `next`, made by `frame`: raise what it made. Resolves
     *  once each event's claim is settled (tests wait on it). */
    observe(prev, next, frame) {
      let events;
      ({ tracker, events } = deriveEvents(tracker, prev, next, frame));
      return Promise.all(events.map(raise));
    },
    snapshot: () => ({
      history: history.map((h) => ({ ...h })),
      toasts: stats.toasts,
      desktop: stats.desktop.slice(),
      beeps: stats.beeps,
      settings: { ...settings },
      permission: permission(),
    }),
  };
}

function readJSON(doc, id) {
  try { return JSON.parse(doc.getElementById(id).textContent); } catch (e) { return null; }
}

function csrfToken(doc, form) {
  for (const part of (doc.cookie || '').split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === 'csrftoken') return decodeURIComponent(rest.join('='));
  }
  const input = form && form.querySelector('input[name="csrfmiddlewaretoken"]');
  return input ? input.value : '';
}
