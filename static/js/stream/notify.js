/*
 * Notifications as pure functions (docs/streaming-contract.md "Notifications"): which
 * events a step of the reducer made (a fill, a partial fill, a rejected order, a triggered
 * price alert, a portfolio limit crossed), each with a key that names it for ever; whether
 * this browser already raised it (io/claims.js; `claim` is its localStorage fallback); the
 * user's settings; the text.
 *
 * Events are derived from the state before and after a frame, not from the frame alone:
 * a fill replayed after `resumed`, held until a snapshot, or first seen in a resync
 * snapshot is found the same way, and what the tab already knew is never news.
 * No DOM, no timers, no clock (render/notifications.js does those).
 */
import { num } from './contract.js';
import { displayName, fmt } from './format.js';
import { displayOf } from './instruments.js';

export const DEFAULT_SETTINGS = Object.freeze({ fills: true, rejections: true, alerts: true, desktop: true, sound: false });
export const HISTORY_SIZE = 50; // notifications listed in the panel
export const NOTIFIED_MAX = 500; // keys kept in the "already raised" record
export const NOTIFIED_TTL_MS = 7 * 24 * 3600 * 1000;
const SEEN_ALERTS_MAX = 500; // trigger ids this tab remembers (a snapshot lists at most 50)

/** Which setting turns each kind of event on. */
const SETTING_OF = { fill: 'fills', rejected: 'rejections', alert: 'alerts', limit: 'alerts' };

// ------------------------------------------------------------------ deriving events

/** What the tab remembers beyond the reducer's state: the trigger ids it has seen. */
export function createTracker() {
  return { alerts: new Set(), limits: new Set() };
}

/** The tracker knowing a snapshot's triggers and breaches (the page's own: its baseline,
 *  no events). */
export function seedTracker(tracker, snap) {
  const alerts = triggersOf(snap).map((a) => String(a.id));
  const limits = breachesOf(snap).map((b) => String(b.id));
  const seenLimits = tracker.limits || new Set();
  if (alerts.every((id) => tracker.alerts.has(id)) && limits.every((id) => seenLimits.has(id))) return tracker;
  return {
    ...tracker,
    alerts: bounded(new Set([...tracker.alerts, ...alerts])),
    limits: bounded(new Set([...seenLimits, ...limits])),
  };
}

/**
 * The events of one reducer step `prev` → `next`, made by `frame` (or a polled snapshot):
 * `{tracker, events}`. Orders are compared with the tab's previous copy; a tab that held no
 * stream position yet (a page rendered without an epoch) takes this step as its baseline.
 */
export function deriveEvents(tracker, prev, next, frame) {
  const events = [];
  const knew = prev.epoch !== null && prev.epoch !== undefined;
  if (knew && next.orders !== prev.orders) {
    for (const [key, o] of next.orders) {
      const old = prev.orders.get(key);
      if (old !== o) events.push(...orderEvents(old, o));
    }
  }
  let t = tracker;
  if (frame && frame.type === 'alert' && frame.alert && frame.alert.id !== undefined && frame.alert.id !== null) {
    const id = String(frame.alert.id);
    if (!t.alerts.has(id)) {
      t = { ...t, alerts: bounded(new Set(t.alerts).add(id)) };
      events.push(alertEvent(frame.alert));
    }
  } else if (frame && frame.type === 'limit' && frame.limit && frame.limit.id !== undefined && frame.limit.id !== null) {
    const id = String(frame.limit.id);
    const seen = t.limits || new Set();
    if (!seen.has(id)) { // a breach sent twice across a failover is one event
      t = { ...t, limits: bounded(new Set(seen).add(id)) };
      events.push(limitEvent(frame.limit));
    }
  } else if (frame && frame.type === 'snapshot') { // a resync: what it lists that the tab never saw
    const fresh = triggersOf(frame).filter((a) => !t.alerts.has(String(a.id)));
    const seenLimits = t.limits || new Set();
    const freshLimits = breachesOf(frame).filter((b) => !seenLimits.has(String(b.id)));
    if (fresh.length || freshLimits.length) {
      t = seedTracker(t, frame);
      if (knew) events.push(...fresh.reverse().map(alertEvent), ...freshLimits.reverse().map(limitEvent)); // oldest first
    }
  }
  return { tracker: t, events };
}

/** The events between the tab's copy of an order (`old`, or undefined) and its new one. */
export function orderEvents(old, o) {
  const events = [];
  const key = o._key ?? String(o.id);
  const base = {
    orderKey: key,
    orderId: String(o.id),
    link: o.link ?? (key.includes(':') ? key.slice(0, key.indexOf(':')) : null),
    account: o._account ?? o.account ?? null,
    underlying: o.underlying ?? null,
    // what a trader reads: the order's display name (its one leg's, or its underlying's)
    display: o.display || (o.underlying ? displayOf(o.underlying) : null),
    status: o.status ?? null,
  };
  if (base.link !== null) base.link = String(base.link);
  const seen = new Set();
  for (const leg of legsOf(old)) for (const f of fillsOf(leg)) seen.add(fillId(f));
  legsOf(o).forEach((leg) => {
    const legQty = num(leg.quantity);
    let filled = 0;
    for (const f of fillsOf(leg)) {
      filled += num(f.quantity) ?? 0;
      const id = fillId(f);
      if (id === null || seen.has(id)) continue;
      const partial = legQty !== null && legQty > 0 ? filled < legQty : o.status !== 'Filled';
      events.push({
        ...base, kind: 'fill', key: `fill:${key}:${id}`, partial,
        symbol: leg.symbol ?? base.underlying, name: leg.symbol ? displayName(leg) : base.display, action: leg.action ?? '', quantity: num(f.quantity),
        price: num(f.price), filled, of: legQty, at: f.at ?? null,
      });
    }
  });
  if (o.status === 'Rejected' && (!old || old.status !== 'Rejected')) {
    events.push({
      ...base, kind: 'rejected', key: `rejected:${key}`, reason: o.reject_reason ?? o.reason ?? null,
      orderType: o.order_type ?? null, price: num(o.price),
      legs: legsOf(o).map((l) => ({ action: l.action ?? '', quantity: num(l.quantity), symbol: l.symbol ?? '', name: l.symbol ? displayName(l) : '' })),
    });
  }
  return events;
}

function alertEvent(a) {
  return {
    kind: 'alert', key: `alert:${a.id}`, triggerId: String(a.id), alertId: a.alert_id ?? null,
    symbol: a.symbol ?? '', name: a.display || displayOf(a.symbol ?? ''), price: num(a.price), level: num(a.level), condition: a.condition ?? null,
    message: typeof a.message === 'string' ? a.message : '', at: num(a.at),
  };
}

/** A portfolio limit crossed (docs/streaming-contract.md "Portfolio limits"). */
function limitEvent(l) {
  return {
    kind: 'limit', key: `limit:${l.id}`, breachId: String(l.id), limitKind: l.kind ?? null,
    value: num(l.value), limit: num(l.limit), message: typeof l.message === 'string' ? l.message : '', at: num(l.at),
  };
}

const LIMIT_TITLES = { beta_delta_above: 'β-weighted delta above your limit', beta_delta_below: 'β-weighted delta below your limit', daily_loss: 'Daily loss limit reached' };

const legsOf = (o) => (o && Array.isArray(o.legs) ? o.legs.filter((l) => l && typeof l === 'object') : []);
const fillsOf = (leg) => (Array.isArray(leg.fills) ? leg.fills.filter((f) => f && typeof f === 'object') : []);
const fillId = (f) => (f.id === undefined || f.id === null ? null : String(f.id));
const triggersOf = (snap) => (snap && Array.isArray(snap.alert_triggers)
  ? snap.alert_triggers.filter((a) => a && a.id !== undefined && a.id !== null) : []);
const breachesOf = (snap) => (snap && Array.isArray(snap.limit_breaches)
  ? snap.limit_breaches.filter((b) => b && b.id !== undefined && b.id !== null) : []);

/** The newest SEEN_ALERTS_MAX of a set (insertion order). */
function bounded(set) {
  return set.size <= SEEN_ALERTS_MAX ? set : new Set([...set].slice(-SEEN_ALERTS_MAX));
}

// ------------------------------------------------------------------ once per browser

/**
 * Claim `key` for this browser (localStorage-like `storage`, one record per user): true
 * when nobody raised it yet (now it is recorded), false when a tab or an earlier page
 * already did. The record keeps the newest NOTIFIED_MAX keys younger than NOTIFIED_TTL_MS.
 * Storage that fails claims (a notification twice beats none). io/claims.js's fallback where
 * IndexedDB is missing: not atomic across Chromium's tabs even under a Web Lock (each
 * reads its own copy of localStorage, which another tab's write reaches only later).
 */
export function claim(storage, user, key, now) {
  if (!storage) return true;
  const name = `streamdesk.notified.${user}`;
  let record = {};
  try {
    const parsed = JSON.parse(storage.getItem(name) || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) record = parsed;
  } catch (e) {
    record = {};
  }
  if (typeof record[key] === 'number' && now - record[key] < NOTIFIED_TTL_MS) return false;
  const kept = Object.entries(record).filter(([k, at]) => k !== key && typeof at === 'number' && now - at < NOTIFIED_TTL_MS);
  kept.sort((a, b) => a[1] - b[1]);
  const next = Object.fromEntries([...kept.slice(-(NOTIFIED_MAX - 1)), [key, now]]);
  try {
    storage.setItem(name, JSON.stringify(next));
  } catch (e) {
    // full or denied: raise it anyway
  }
  return true;
}

// ------------------------------------------------------------------ settings

/** The settings from anything (the page's JSON, a PUT's answer): booleans only, defaults else. */
export function settingsOf(raw) {
  const s = { ...DEFAULT_SETTINGS };
  if (raw && typeof raw === 'object') for (const k of Object.keys(s)) if (typeof raw[k] === 'boolean') s[k] = raw[k];
  return s;
}

/** Whether the user wants this kind of event raised at all. */
export function wanted(event, settings) {
  const name = SETTING_OF[event.kind];
  return !!name && settings[name] === true;
}

// ------------------------------------------------------------------ words, history

/** `{title, body}` of an event, for the desktop notification and the toast: each
 *  instrument by its display name (`BTC/USD`, `SPY 15 Jan 27 590 C`), never its raw symbol. */
export function notificationText(e) {
  const acct = e.account ? ` · account ${e.account}` : '';
  const named = (x) => x.name || displayOf(x.symbol ?? '');
  const what = e.display || (e.underlying ? displayOf(e.underlying) : '');
  if (e.kind === 'fill') {
    const progress = e.of !== null && e.of !== undefined ? ` (${fmt.qty(e.filled)} of ${fmt.qty(e.of)})` : '';
    return {
      title: `${e.partial ? 'Partial fill' : 'Filled'}: ${what || named(e)}`,
      body: `${e.action} ${fmt.qty(e.quantity)} ${named(e)} @ ${fmt.money(e.price)}${progress}${acct}`.trim(),
    };
  }
  if (e.kind === 'rejected') {
    const legs = e.legs.map((l) => `${l.action} ${fmt.qty(l.quantity)} ${named(l)}`.trim()).join(', ');
    const type = [e.orderType, e.price !== null ? fmt.money(e.price) : null].filter(Boolean).join(' ');
    return {
      title: `Order rejected: ${what || (e.legs[0] && named(e.legs[0])) || e.orderId}`,
      body: `${[legs, type].filter(Boolean).join(', ')}${acct}${e.reason ? `: ${e.reason}` : ''}`,
    };
  }
  if (e.kind === 'alert') {
    return { title: `Alert: ${named(e)}`, body: e.message || `${named(e)} at ${fmt.price(e.price)}` };
  }
  if (e.kind === 'limit') {
    return { title: `Limit: ${LIMIT_TITLES[e.limitKind] || 'portfolio limit crossed'}`, body: e.message || `${fmt.amount(e.value)} past ${fmt.amount(e.limit)}` };
  }
  return { title: 'Notification', body: '' };
}

/** The history with `item` first, at most `max` long. */
export function addToHistory(history, item, max = HISTORY_SIZE) {
  return [item, ...history].slice(0, max);
}

/** "just now", "12 s ago", "3 min ago", "2 h ago". */
export function ageText(at, now) {
  const ms = Math.max(0, now - at);
  if (ms < 1000) return 'just now';
  if (ms < 120000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 7200000) return `${Math.round(ms / 60000)} min ago`;
  return `${Math.round(ms / 3600000)} h ago`;
}
