/*
 * The dashboard's data as a pure reducer (docs/streaming-contract.md): `applyFrame(state,
 * frame)` returns the next state and never changes the one it was given (collections are
 * copied on write, so an unchanged account, quote or order keeps its identity: the renderer
 * redraws what is not identical). No DOM, no timers, no clock, no globals.
 *
 * What a frame asks of the world (reconnect for a resync, tell the trader about a rejected
 * symbol, reopen SSE for a new watchlist) is appended to `state.effects`; main.js takes
 * them with `takeEffects`. tests/js/tools/replay.mjs runs this same reducer under node.
 */
import {
  ACCOUNT_FRAMES, DEFAULT_LIMITS, DEFAULT_STALE_QUOTES_MS, MAX_ALERT_TRIGGERS, MAX_LIMIT_BREACHES, MAX_PENDING_FRAMES,
  TERMINAL_ORDER, accountFrameVerdict, epochOf, feedRule, formatPosition, newestLiveQuoteT, num, orderCopy,
  orderKey, timeMs, watchlistOf, watchlistReplaces,
} from './contract.js';
import { boundOrders, compareOrders } from './orders.js';
import { quotePaceOf } from './quote-pace.js';

/** Every field the page holds about the stream's data, declared here and nowhere else. */
export function initialState() {
  return {
    epoch: null, // the snapshot's epoch: account frames of another one are never applied
    seq: 0, // the last account frame applied, within `epoch`
    canResume: false, // whether (epoch, seq) is a position the server may resume from
    awaitingSnapshot: false, // after hello or a resync: account frames wait in `pending`
    pending: [], // account frames that arrived before their snapshot (or `resumed`)
    snapshots: 0, // snapshots applied: each one replaces everything
    simulated: false,
    accounts: new Map(), // number -> {number, link, broker, label, simulated, balance, positions: Map(symbol -> position)}
    quotes: new Map(), // symbol -> quote (absent fields unchanged, null = no value)
    greeks: new Map(), // streamer symbol -> greeks
    newestQuoteT: null, // server ms of the newest quote not from a delayed source
    quotePace: null, // {intervalMs, cause} while the server thins this socket's quotes (`quote_pace`)
    orders: new Map(), // "<link>:<id>" -> order + {_key, _account, _simulated, _rank}
    orderRank: 0, // orders are listed by the rank of their last change, newest first
    links: new Map(), // link id -> link status
    watchlist: { symbols: [], version: null }, // the user's, not this tab's
    extraSymbols: new Set(), // symbols this tab streams beyond the user's (e.g. a chain it shows)
    subscriptions: [], // what the user's stream is subscribed to (snapshot, `subscribed`)
    rejected: new Map(), // symbol -> the reason the server refused it
    limits: { ...DEFAULT_LIMITS }, // hello.limits
    staleAfterMs: DEFAULT_STALE_QUOTES_MS, // hello.stale_after_ms.quotes
    freshness: feedRule([], DEFAULT_STALE_QUOTES_MS), // contract.feedRule: how quotes are judged now
    alerts: [], // the user's active price alerts (snapshot `alerts`)
    alertTriggers: [], // `alert` payloads, newest first, one per `id` (at most MAX_ALERT_TRIGGERS)
    limitBreaches: [], // `limit` payloads, newest first, one per `id` (at most MAX_LIMIT_BREACHES)
    metrics: new Map(), // underlying -> market metrics (snapshot `metrics`, `metrics` frames)
    effects: [], // {type: 'resync', reason, resume} | {type: 'rejected', symbol, reason} | {type: 'error', frame} | {type: 'watchlist'} | {type: 'alert', alert}
  };
}

// ------------------------------------------------------------------ the reducer

/** The state after one contract frame (object). Unknown types change nothing. */
export function applyFrame(state, frame) {
  if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return state;
  const s = { ...state };
  if (ACCOUNT_FRAMES.has(frame.type)) {
    accountFrame(s, frame);
    return s;
  }
  switch (frame.type) {
    case 'hello':
      if (frame.limits && typeof frame.limits === 'object') s.limits = { ...s.limits, ...frame.limits };
      if (num(frame.stale_after_ms && frame.stale_after_ms.quotes) > 0) {
        s.staleAfterMs = num(frame.stale_after_ms.quotes);
        s.freshness = feedRule(s.links.values(), s.staleAfterMs);
      }
      if (frame.simulated) s.simulated = true;
      s.awaitingSnapshot = true; // a snapshot or `resumed` follows
      s.pending = [];
      s.quotePace = null; // a new socket starts unthinned
      return s;
    case 'snapshot':
      snapshot(s, frame, 'stream');
      return s;
    case 'resumed':
      resumed(s, frame);
      return s;
    case 'quotes':
      quotes(s, frame);
      return s;
    case 'quote_pace':
      s.quotePace = quotePaceOf(frame);
      return s;
    case 'status':
      if (!frame.link || frame.link.id === undefined) return state;
      s.links = new Map(s.links).set(String(frame.link.id), { ...frame.link });
      s.freshness = feedRule(s.links.values(), s.staleAfterMs);
      if (frame.link.simulated) s.simulated = true;
      return s;
    case 'watchlist':
      adopt(s, { symbols: frame.symbols, version: frame.version }, false);
      return s;
    case 'metrics':
      if (!frame.metrics || typeof frame.metrics !== 'object') return state;
      s.metrics = withMetrics(new Map(s.metrics), frame.metrics);
      return s;
    case 'subscribed':
      subscribed(s, frame);
      return s;
    case 'error':
      effect(s, { type: 'error', frame });
      return s;
    default: // pong (the transport's) and types this page does not know
      return state;
  }
}

/** The state after a whole snapshot: from the stream (`stream`), `/api/snapshot` (`poll`)
 *  or the page (`page`). Only the stream's names the subscriptions. */
export function applySnapshot(state, snap, source) {
  if (!snap || typeof snap !== 'object') return state;
  const s = { ...state };
  snapshot(s, snap, source);
  return s;
}

/** Take the user's watchlist (a POST's answer, the page's list) if it is newer than ours
 *  (`fromSnapshot`: at least as new). */
export function adoptWatchlist(state, raw, fromSnapshot) {
  const s = { ...state };
  return adopt(s, raw, fromSnapshot) ? s : state;
}

/** Forget our position (a 4409 close): the next stream starts from a fresh snapshot. */
export function forgetPosition(state) {
  return state.canResume ? { ...state, canResume: false } : state;
}

/** The position to resume from (`<epoch>:<seq>`), or null for a fresh snapshot. */
export function resumePosition(state) {
  return state.canResume ? formatPosition(state.epoch, state.seq) : null;
}

/** The state with these extra symbols (normalized) streamed by this tab; `changed` lists the new ones. */
export function addExtraSymbols(state, symbols) {
  const changed = symbols.filter((sym, i) => !state.extraSymbols.has(sym) && symbols.indexOf(sym) === i);
  if (!changed.length) return { state, changed };
  return { state: { ...state, extraSymbols: new Set([...state.extraSymbols, ...changed]) }, changed };
}

/** The state without these extra symbols; `changed` lists those it had. */
export function removeExtraSymbols(state, symbols) {
  const changed = symbols.filter((sym, i) => state.extraSymbols.has(sym) && symbols.indexOf(sym) === i);
  if (!changed.length) return { state, changed };
  return { state: { ...state, extraSymbols: new Set([...state.extraSymbols].filter((sym) => !changed.includes(sym))) }, changed };
}

/** [the state without effects, the effects]. */
export function takeEffects(state) {
  return state.effects.length ? [{ ...state, effects: [] }, state.effects] : [state, []];
}

/** Whether anything on the page is simulated (the banner). */
export function isSimulated(state) {
  if (state.simulated) return true;
  for (const a of state.accounts.values()) if (a.simulated) return true;
  for (const l of state.links.values()) if (l.simulated) return true;
  return false;
}

/** Orders newest first (orders.js: by the time the broker received them, link, id). */
export function orderedOrders(state) {
  return Array.from(state.orders.values()).sort(compareOrders);
}

// ------------------------------------------------------------------ frames, on a copy `s`

const effect = (s, e) => { s.effects = [...s.effects, e]; };
const bySeq = (frames) => frames.slice().sort((a, b) => num(a.seq) - num(b.seq));

function snapshot(s, snap, source) {
  if (source === 'poll') s.quotePace = null; // no socket: nothing thins a poll's quotes
  s.epoch = epochOf(snap.epoch);
  s.seq = num(snap.seq) ?? 0;
  // resumable only with an epoch: a page rendered before the stream answered has none
  s.canResume = s.epoch !== null;
  s.snapshots += 1;
  s.simulated = !!snap.simulated;
  s.links = new Map();
  for (const l of Array.isArray(snap.links) ? snap.links : []) if (l && l.id !== undefined) s.links.set(String(l.id), { ...l });
  s.freshness = feedRule(s.links.values(), s.staleAfterMs);
  const before = s.accounts;
  s.accounts = new Map();
  for (const a of Array.isArray(snap.accounts) ? snap.accounts : []) {
    if (a && a.number !== undefined && a.number !== null) s.accounts.set(String(a.number), account(s, a, before.get(String(a.number))));
  }
  s.quotes = new Map();
  for (const [sym, q] of Object.entries(snap.quotes || {})) if (q && typeof q === 'object') s.quotes.set(sym, { ...q });
  s.newestQuoteT = newestLiveQuoteT(s.quotes.values());
  s.greeks = new Map();
  for (const [sym, g] of Object.entries(snap.greeks || {})) if (g && typeof g === 'object') s.greeks.set(sym, { ...g });
  // The snapshot is the authority on orders; finished orders it no longer lists stay
  // (they cannot change any more, and the trader saw them).
  s.orders = new Map(Array.from(s.orders).filter(([, o]) => TERMINAL_ORDER.has(o.status)));
  const incoming = (Array.isArray(snap.orders) ? snap.orders : []).filter((o) => o && o.id !== undefined && o.id !== null);
  incoming.sort((a, b) => (timeMs(a.updated_at) ?? 0) - (timeMs(b.updated_at) ?? 0));
  for (const o of incoming) putOrder(s, o, { account: o.account ?? o.account_number ?? null, link: o.link });
  trimOrders(s);
  if (snap.metrics && typeof snap.metrics === 'object') s.metrics = withMetrics(new Map(), snap.metrics);
  if (snap.watchlist !== undefined) adopt(s, snap.watchlist, true);
  if (source === 'stream' && Array.isArray(snap.subscriptions)) s.subscriptions = snap.subscriptions.slice();
  if (Array.isArray(snap.alerts)) s.alerts = snap.alerts.filter((a) => a && a.id !== undefined).map((a) => ({ ...a }));
  if (Array.isArray(snap.alert_triggers)) s.alertTriggers = oncePerId(snap.alert_triggers, MAX_ALERT_TRIGGERS);
  if (Array.isArray(snap.limit_breaches)) s.limitBreaches = oncePerId(snap.limit_breaches, MAX_LIMIT_BREACHES);
  // Account frames that arrived before it: those of its epoch it does not include apply
  // (older ones are duplicates; other epochs are not ours).
  s.awaitingSnapshot = false;
  const pending = bySeq(s.pending.filter((f) => f.epoch === undefined || f.epoch === null || f.epoch === s.epoch));
  s.pending = [];
  for (const f of pending) if (num(f.seq) > s.seq) accountFrame(s, f);
}

/** Copies of the payloads with an `id`, the first of each id, at most `max` (a snapshot's
 *  `alert_triggers` / `limit_breaches`: newest first). */
function oncePerId(payloads, max) {
  const kept = [];
  for (const p of payloads) if (p && p.id !== undefined && !kept.some((x) => x.id === p.id)) kept.push({ ...p });
  return kept.slice(0, max);
}

/** `map` with each underlying's metrics from `incoming` replacing its entry. */
function withMetrics(map, incoming) {
  for (const [u, m] of Object.entries(incoming)) if (m && typeof m === 'object') map.set(u, { ...m });
  return map;
}

function resumed(s, frame) {
  // The server replays the account frames after our position instead of a snapshot.
  const epoch = frame.epoch === undefined ? s.epoch : frame.epoch;
  const from = num(frame.from);
  if (epoch !== s.epoch || (from !== null && from > s.seq)) {
    resync(s, `resumed at ${epoch}:${from} but we hold ${s.epoch}:${s.seq}`, false);
    return;
  }
  s.awaitingSnapshot = false;
  const pending = bySeq(s.pending);
  s.pending = [];
  for (const f of pending) accountFrame(s, f);
}

/** Frames are missing (`resume`: reconnect from our position: the server replays them or
 *  sends a snapshot) or not ours (another epoch: a fresh snapshot). */
function resync(s, reason, resume) {
  if (!resume) s.canResume = false;
  s.awaitingSnapshot = true;
  s.pending = [];
  effect(s, { type: 'resync', reason, resume });
}

function accountFrame(s, f) {
  if (s.awaitingSnapshot) {
    if (num(f.seq) !== null) s.pending = [...s.pending, f].slice(-MAX_PENDING_FRAMES);
    return;
  }
  const verdict = accountFrameVerdict({ epoch: s.epoch, seq: s.seq }, f);
  if (verdict === 'invalid' || verdict === 'duplicate') return;
  if (verdict === 'epoch') { // nothing we hold belongs to that epoch: a fresh snapshot, not a resume
    resync(s, `new stream epoch ${f.epoch} (had ${s.epoch})`, false);
    return;
  }
  if (verdict === 'gap') {
    resync(s, `sequence gap: had ${s.epoch}:${s.seq}, got ${f.epoch ?? ''}:${f.seq}`, true);
    return;
  }
  s.seq = num(f.seq);
  if (f.simulated) s.simulated = true;
  if (f.type === 'alert') {
    alertTriggered(s, f.alert);
    return;
  }
  if (f.type === 'limit') { // the user's, not an account's: kept once per id; notify.js raises it
    if (f.limit && typeof f.limit === 'object' && f.limit.id !== undefined) s.limitBreaches = oncePerId([f.limit, ...s.limitBreaches], MAX_LIMIT_BREACHES);
    return;
  }
  if (f.type === 'order') {
    putOrder(s, f.order, { account: f.account, simulated: f.simulated, link: f.link });
    trimOrders(s);
    return;
  }
  if (f.account === undefined || f.account === null) return;
  const acct = accountFor(s, f);
  if (f.type === 'balance') {
    if (f.balance && typeof f.balance === 'object') setAccount(s, { ...acct, balance: { ...acct.balance, ...f.balance } });
  } else if (f.type === 'positions') {
    const positions = new Map();
    for (const p of Array.isArray(f.positions) ? f.positions : []) {
      if (p && p.symbol !== undefined && p.symbol !== null && num(p.quantity) !== 0) positions.set(String(p.symbol), { ...p });
    }
    setAccount(s, { ...acct, positions });
  } else if (f.type === 'position') {
    const p = f.position;
    if (!p || p.symbol === undefined || p.symbol === null) return;
    const sym = String(p.symbol);
    const positions = new Map(acct.positions);
    if (num(p.quantity) === 0 || p.direction === 'Zero') { // closed
      if (!positions.delete(sym)) return;
    } else {
      positions.set(sym, { ...(positions.get(sym) || {}), ...p });
    }
    setAccount(s, { ...acct, positions });
  }
}

function quotes(s, f) {
  const t = num(f.t);
  const entries = Object.entries(f.quotes || {}).filter(([, q]) => q && typeof q === 'object');
  if (entries.length) {
    s.quotes = new Map(s.quotes);
    for (const [sym, q] of entries) {
      const cur = { ...(s.quotes.get(sym) || {}) };
      const prevT = timeMs(cur.t);
      Object.assign(cur, q); // latest wins: absent = unchanged, null = no value
      if (q.t === undefined && t !== null) cur.t = t;
      // a quote's time never moves backwards (a late trade print must not age it)
      if (prevT !== null && (timeMs(cur.t) ?? 0) < prevT) cur.t = prevT;
      s.quotes.set(sym, cur);
      const ms = cur.delayed ? null : timeMs(cur.t); // delayed quotes never make the data fresh
      if (ms !== null && (s.newestQuoteT === null || ms > s.newestQuoteT)) s.newestQuoteT = ms;
    }
  }
  const greeks = Object.entries(f.greeks || {}).filter(([, g]) => g && typeof g === 'object');
  if (greeks.length) {
    s.greeks = new Map(s.greeks);
    for (const [sym, g] of greeks) s.greeks.set(sym, { ...(s.greeks.get(sym) || {}), ...g });
  }
}

function adopt(s, raw, fromSnapshot) {
  const next = watchlistOf(raw);
  if (!watchlistReplaces(s.watchlist, next, fromSnapshot)) return false;
  const old = s.watchlist.symbols;
  const same = next.symbols.length === old.length && next.symbols.every((sym, i) => sym === old[i]);
  s.watchlist = { symbols: next.symbols.slice(), version: next.version };
  if (!same) {
    const kept = Array.from(s.rejected).filter(([sym]) => next.symbols.includes(sym) || s.extraSymbols.has(sym));
    if (kept.length !== s.rejected.size) s.rejected = new Map(kept);
    effect(s, { type: 'watchlist' }); // SSE names its symbols when it opens
  }
  return true;
}

function subscribed(s, frame) {
  if (Array.isArray(frame.symbols)) s.subscriptions = frame.symbols.slice();
  s.rejected = new Map(s.rejected);
  for (const sym of s.subscriptions) s.rejected.delete(sym);
  for (const r of Array.isArray(frame.rejected) ? frame.rejected : []) {
    if (!r || typeof r.symbol !== 'string') continue;
    const reason = String(r.reason || 'rejected');
    if (s.rejected.get(r.symbol) === reason) continue; // already told (a resubscribe after a reconnect)
    s.rejected.set(r.symbol, reason);
    effect(s, { type: 'rejected', symbol: r.symbol, reason });
  }
}

// ------------------------------------------------------------------ price alerts

/** A trigger: kept once per `id` (a new owner may send a trigger twice), newest first;
 *  the alert it came from is disarmed (a once alert leaves the active list). */
function alertTriggered(s, t) {
  if (!t || typeof t !== 'object' || t.id === undefined || s.alertTriggers.some((x) => x.id === t.id)) return;
  s.alertTriggers = [{ ...t }, ...s.alertTriggers].slice(0, MAX_ALERT_TRIGGERS);
  s.alerts = t.rearm
    ? s.alerts.map((a) => (a.id === t.alert_id ? { ...a, armed: false, crossings: (num(a.crossings) ?? 0) + 1 } : a))
    : s.alerts.filter((a) => a.id !== t.alert_id);
  effect(s, { type: 'alert', alert: t });
}

/** The user's active alerts as the API answered after a write (the page's own list). */
export function adoptAlerts(state, alerts) {
  if (!Array.isArray(alerts)) return state;
  return { ...state, alerts: alerts.filter((a) => a && a.active).map((a) => ({ ...a })) };
}

// ------------------------------------------------------------------ accounts and orders

function account(s, a, old) {
  // An account first seen in a frame carries only its link id: the rest comes from the link.
  const link = a.link !== undefined && a.link !== null ? s.links.get(String(a.link)) : null;
  if (link) a = { broker: link.broker, label: link.label, simulated: link.simulated, ...a };
  const positions = new Map();
  for (const p of Array.isArray(a.positions) ? a.positions : []) {
    if (p && p.symbol !== undefined && p.symbol !== null) positions.set(String(p.symbol), { ...p });
  }
  return {
    number: String(a.number),
    link: a.link ?? (old && old.link) ?? null,
    broker: a.broker ?? (old && old.broker) ?? '',
    label: a.label ?? (old && old.label) ?? '',
    simulated: !!a.simulated,
    balance: a.balance && typeof a.balance === 'object' ? { ...a.balance } : {},
    positions,
  };
}

const setAccount = (s, acct) => { s.accounts = new Map(s.accounts).set(acct.number, acct); };

/** The frame's account (made from its link when new, marked simulated when it says so). */
function accountFor(s, f) {
  const old = s.accounts.get(String(f.account));
  let acct = old || account(s, { number: f.account, link: f.link, simulated: f.simulated, positions: [] }, null);
  if (f.simulated && !acct.simulated) acct = { ...acct, simulated: true };
  if (acct !== old) setAccount(s, acct);
  return acct;
}

/** The wire fields of a stored order (without what the page adds). */
function orderBody(o) {
  const { _key, _rank, _account, _simulated, ...body } = o; // eslint-disable-line no-unused-vars
  return body;
}

/**
 * The one place an order is written. Orders are keyed by (link, broker id), and an order
 * frame carries the order's whole state, fills included: the stored copy is replaced,
 * never merged, so the same frame twice changes nothing and a fill is never counted twice.
 */
function putOrder(s, order, meta) {
  if (!order || order.id === undefined || order.id === null) return;
  const key = orderKey(order.id, meta.link ?? order.link);
  const old = s.orders.get(key);
  const next = orderCopy(order);
  const acct = meta.account ?? order.account ?? order.account_number ?? (old && old._account) ?? null;
  const simulated = !!(meta.simulated || (old && old._simulated));
  const changed = !old || JSON.stringify(orderBody(old)) !== JSON.stringify(next);
  if (!changed && old._account === acct && old._simulated === simulated) return; // keeps its identity
  if (changed) s.orderRank += 1;
  s.orders = new Map(s.orders).set(key, { ...next, _key: key, _account: acct, _simulated: simulated, _rank: changed ? s.orderRank : old._rank });
}

/** The newest ORDERS_KEPT orders and every working one (orders.js); older ones are
 *  paged in by the panel, outside the state. */
function trimOrders(s) {
  s.orders = boundOrders(s.orders);
}

// ------------------------------------------------------------------ compared with a fresh snapshot

/**
 * The state projected onto what a snapshot carries, to compare with a fresh snapshot
 * projected the same way (snapshot + frames = fresh snapshot; tests/js/tools/replay.mjs):
 *   {epoch, seq, quotes: {symbol: quote}, greeks: {symbol: greeks},
 *    accounts: {"<link>:<number>": {balance, positions: [position, … by symbol]}},
 *    orders: {"<link>:<id>": order's wire fields + account (its link is the key's)},
 *    watchlist: {symbols, version}, metrics: {underlying: metrics}}
 * Keys are sorted at every level; a quote's `delayed` is a boolean (absent = false).
 * Left out: links (their ages move with the clock), what this tab asked for
 * (subscriptions, rejections) and what the page adds (ranks, labels from links).
 */
export function comparable(state) {
  const accounts = {};
  for (const a of state.accounts.values()) {
    const positions = Array.from(a.positions.values()).sort((x, y) => compare(String(x.symbol), String(y.symbol)));
    accounts[orderKey(a.number, a.link)] = { balance: a.balance, positions }; // (link, id) keys, as orders
  }
  const orders = {};
  for (const o of state.orders.values()) {
    const { link, account, account_number, ...wire } = orderBody(o); // eslint-disable-line no-unused-vars
    orders[o._key] = { ...wire, account: o._account };
  }
  const quotes = {};
  for (const [sym, q] of state.quotes) quotes[sym] = { ...q, delayed: !!q.delayed };
  return canonical({
    epoch: state.epoch,
    seq: state.seq,
    quotes,
    greeks: Object.fromEntries(state.greeks),
    accounts,
    orders,
    watchlist: state.watchlist,
    metrics: Object.fromEntries(state.metrics),
  });
}

const compare = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** A plain copy with object keys sorted at every level. */
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.keys(v).sort(compare).map((k) => [k, canonical(v[k])]));
}
