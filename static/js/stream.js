/*
 * streamdesk dashboard client: one WebSocket to /ws/stream/, state from the
 * embedded snapshot, DOM updates batched per animation frame.
 *
 * Follows docs/streaming-contract.md: hello → snapshot → live frames; positions are
 * `<epoch>:<seq>`: account frames are applied in seq order within the snapshot's epoch
 * (duplicates ignored; a gap reconnects with our position; another epoch reconnects for
 * a fresh snapshot); quotes latest-wins with "absent = unchanged, null = no value";
 * an order frame replaces the order keyed (link, id); the watchlist is the user's
 * (`watchlist` frames, `POST /watchlist`); every value shows whether it is fresh,
 * stale or delayed. SSE, then polling /api/snapshot when the socket cannot stay up.
 * ES2020 module, no libraries; never innerHTML. The wire rules themselves are in
 * contract.js (unit-tested under node).
 *
 * For tests and tools: window.streamdesk = {applyFrame(frame), state(), flush(),
 * subscribe(symbols), unsubscribe(symbols)} (tests/browser/README.md).
 */
import {
  num, timeMs, epochOf, formatPosition, accountFrameVerdict, closePolicy, backoffDelay,
  orderKey, orderCopy, watchlistOf, watchlistReplaces, normalizeSymbol, quoteAge, quoteStale,
  newestLiveQuoteT, kindsOf, accountFreshness, dataState, KINDS, DEFAULT_STALE_QUOTES_MS,
} from './stream/contract.js';
import { fmtAge } from './stream/format.js';

(() => {
  'use strict';

  const root = document.getElementById('dashboard');
  if (!root) return;

  // ------------------------------------------------------------------ constants

  const STALE_PAGE_MS = 10000;
  const PING_EVERY_MS = 20000;
  const DEAD_AFTER_MS = 45000;
  const POLL_EVERY_MS = 2000;
  const POLL_TIMEOUT_MS = 8000;
  const TICK_MS = 1000;
  const STABLE_AFTER_MS = 10000;
  const CONNECT_TIMEOUT_MS = 15000;
  const FAILS_BEFORE_POLLING = 3;
  const IMMEDIATE_COOLDOWN_MS = 5000;
  const MAX_ORDERS_SHOWN = 200;
  const MAX_PENDING_FRAMES = 2000;
  const MAX_MESSAGES = 5;
  const MESSAGE_TTL_MS = 10000;
  const TERMINAL_ORDER = new Set(['Filled', 'Cancelled', 'Rejected', 'Expired', 'Removed', 'Partially Removed']);

  const REASONS = {
    invalid_symbol: 'not a valid symbol',
    limit_reached: 'symbol limit reached',
    user_limit_reached: 'your symbol limit is reached',
  };

  const cfg = {
    wsPath: root.dataset.wsPath || '/ws/stream/',
    snapshotUrl: root.dataset.snapshotUrl || '/api/snapshot',
    watchlistUrl: root.dataset.watchlistUrl || '/watchlist',
    loginUrl: root.dataset.loginUrl || '/login/',
    user: root.dataset.user || '',
    eventsUrl: root.dataset.eventsUrl || '/api/events',
    // ?transport=sse|poll on the page skips the WebSocket (operators, tests, bad proxies)
    transport: new URLSearchParams(location.search).get('transport') || 'auto',
  };

  const reducedMotion = !!(window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches);

  // ------------------------------------------------------------------ state

  const S = {
    epoch: null, // the snapshot's epoch: account frames of another one are never applied
    seq: 0,
    canResume: false, // whether (epoch, seq) is a position the server may resume from
    simulated: false,
    accounts: new Map(), // number -> {number, link, broker, label, nickname, margin_or_cash, simulated, balance, positions: Map(symbol -> position)}
    quotes: new Map(), // symbol -> quote
    greeks: new Map(), // streamer symbol -> greeks
    orders: new Map(), // id -> order (+ _account, _simulated, _rank)
    links: new Map(), // id -> link status
    watchlist: { symbols: [], version: null }, // the user's, not this tab's
    extraSymbols: new Set(), // symbols this tab subscribes beyond the user's (e.g. a chain it shows)
    subscriptions: [],
    rejected: new Map(), // symbol -> reason
    limits: { max_symbols: 200, max_symbols_per_message: 50 },
    staleAfterMs: DEFAULT_STALE_QUOTES_MS, // hello.stale_after_ms.quotes
    awaitingSnapshot: false,
    pending: [],
    newestQuoteT: null, // server ms of the newest quote not from a delayed source
    lastFrameAt: Date.now(), // client ms of the last frame of any kind
    skew: 0, // server clock minus client clock, ms
    orderRank: 0,
  };

  const conn = {
    state: 'connecting',
    ws: null,
    attempt: 0, // backoff exponent, reset after a stable connection
    failures: 0, // consecutive connects that never reached a snapshot
    everLive: false,
    gotSnapshot: false,
    lastSocketFrameAt: 0,
    reconnectTimer: null,
    connectTimer: null,
    pingTimer: null,
    stableTimer: null,
    pingId: 0,
    pings: new Map(),
    polling: false, // a fallback is active: SSE when it works, else polling
    es: null, // the EventSource of the SSE fallback
    sseBroken: false, // SSE failed before its first snapshot: poll instead
    pollTimer: null,
    pollAbort: null,
    lastImmediate: 0,
    sseAttempt: 0, // backoff exponent of SSE reopen after a close code
    sseTimer: null,
    reconnects: 0,
    connects: 0, // sockets opened
    socketUrl: '', // the last socket's URL (with its ?since= position)
    lastRetry: null, // {code, delay, resume}: how the last reconnect was scheduled
    lastReason: '',
    lastClose: null,
    stopped: false,
  };

  // ------------------------------------------------------------------ helpers

  const fmtCache = new Map();
  function nf(min, max, extra) {
    const key = `${min}|${max}|${extra || ''}`;
    let f = fmtCache.get(key);
    if (!f) {
      const opts = { minimumFractionDigits: min, maximumFractionDigits: max };
      if (extra === 'sign') opts.signDisplay = 'exceptZero';
      if (extra === 'compact') { opts.notation = 'compact'; }
      f = new Intl.NumberFormat('en-US', opts);
      fmtCache.set(key, f);
    }
    return f;
  }

  const DASH = '—';
  const fmt = {
    money: (v) => (v === null ? DASH : nf(2, 2).format(v)),
    pnl: (v) => (v === null ? DASH : nf(2, 2, 'sign').format(v)),
    price: (v) => (v === null ? DASH : nf(2, Math.abs(v) < 10 ? 4 : 2).format(v)),
    change: (v) => (v === null ? DASH : nf(2, Math.abs(v) < 1 ? 4 : 2, 'sign').format(v)),
    qty: (v) => (v === null ? DASH : nf(0, 4).format(v)),
    greek: (v, d) => (v === null ? DASH : nf(d, d).format(v)),
    pct: (v) => (v === null ? DASH : `${nf(1, 1).format(v * 100)}%`),
    volume: (v) => (v === null ? DASH : (Math.abs(v) < 100000 ? nf(0, 0).format(v) : nf(0, 1, 'compact').format(v))),
    time: (ms) => {
      if (ms === null) return '';
      const d = new Date(ms);
      const pad = (n) => String(n).padStart(2, '0');
      return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    },
  };

  const serverNow = () => Date.now() + S.skew;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') node.className = v;
        else if (k === 'text') node.textContent = v;
        else if (k === 'hidden') node.hidden = true;
        else node.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  /** Write a cell only when its text changes; flash up/down on numeric moves. */
  let flashEnabled = false;
  function setCell(node, text, value, opts) {
    if (!node) return;
    if (node.textContent !== text) {
      const prev = node._sdValue;
      node.textContent = text;
      if (flashEnabled && opts && opts.flash && typeof prev === 'number' && typeof value === 'number' && value !== prev) {
        flash(node, value > prev ? 'up' : 'down');
      }
    }
    const v = value === null || value === undefined ? '' : String(value);
    if (node._sdRaw !== v) {
      node._sdRaw = v;
      node.setAttribute('data-value', v);
    }
    node._sdValue = value;
    if (opts && opts.signed) {
      node.classList.toggle('pos', typeof value === 'number' && value > 0);
      node.classList.toggle('neg', typeof value === 'number' && value < 0);
    }
  }

  function flash(node, dir) {
    if (reducedMotion) return;
    node.classList.remove('flash-up', 'flash-down');
    node.classList.add(dir === 'up' ? 'flash-up' : 'flash-down');
    if (node._sdFlash) clearTimeout(node._sdFlash);
    node._sdFlash = setTimeout(() => {
      node.classList.remove('flash-up', 'flash-down');
      node._sdFlash = null;
    }, 700);
    if (typeof node.animate === 'function') {
      const color = dir === 'up' ? 'rgba(63, 185, 80, 0.45)' : 'rgba(248, 81, 73, 0.45)';
      node.animate([{ backgroundColor: color }, { backgroundColor: 'rgba(0, 0, 0, 0)' }], { duration: 700, easing: 'ease-out' });
    }
  }

  function cellsOf(row) {
    if (!row._sdCells) {
      const cells = {};
      for (const c of row.querySelectorAll('[data-field]')) cells[c.getAttribute('data-field')] = c;
      row._sdCells = cells;
    }
    return row._sdCells;
  }

  /** Put `nodes` into `container` in this order, moving only what is out of place; drop the rest. */
  function reconcileChildren(container, nodes) {
    const keep = new Set(nodes);
    for (const child of Array.from(container.children)) if (!keep.has(child)) child.remove();
    let expected = container.firstElementChild;
    for (const node of nodes) {
      if (node !== expected) container.insertBefore(node, expected);
      else expected = expected.nextElementSibling;
    }
  }

  // ------------------------------------------------------------------ messages

  const messagesEl = document.getElementById('messages');
  function showMessage(text, kind) {
    if (!messagesEl) return;
    const dismiss = el('button', { type: 'button', class: 'msg-close', 'aria-label': 'Dismiss' }, '×');
    const item = el('div', { class: `msg msg-${kind || 'error'}` }, el('span', { class: 'msg-text' }, text), dismiss);
    dismiss.addEventListener('click', () => item.remove());
    messagesEl.append(item);
    while (messagesEl.children.length > MAX_MESSAGES) messagesEl.firstElementChild.remove();
    setTimeout(() => item.remove(), MESSAGE_TTL_MS);
  }

  // ------------------------------------------------------------------ dirty tracking

  const dirty = {
    structure: false, // accounts/positions/orders/links/watchlist membership: reconcile + full redraw
    watchlist: false,
    quotes: new Set(),
    greeks: new Set(),
    positions: new Set(), // "acct|symbol"
    positionLists: new Set(), // account numbers whose rows changed
    balances: new Set(),
    totals: new Set(),
    orders: new Set(),
    links: new Set(),
    simulated: false,
  };
  let rafPending = false;
  function scheduleRender() {
    if (rafPending) return;
    rafPending = true;
    requestAnimationFrame(() => {
      rafPending = false;
      render(true);
    });
  }

  // ------------------------------------------------------------------ state changes

  function normAccount(a, old) {
    // An account first seen in a frame carries only its link id: take the rest from the link.
    const link = S.links && a.link !== undefined && a.link !== null ? S.links.get(String(a.link)) : null;
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
      nickname: a.nickname ?? (old && old.nickname) ?? '',
      margin_or_cash: a.margin_or_cash ?? (old && old.margin_or_cash) ?? '',
      simulated: !!a.simulated,
      balance: a.balance && typeof a.balance === 'object' ? { ...a.balance } : {},
      positions,
    };
  }

  /** A quote that is not from a delayed source moves the page's data age. */
  function noteQuoteTime(q) {
    if (!q || q.delayed) return;
    const ms = timeMs(q.t);
    if (ms !== null && (S.newestQuoteT === null || ms > S.newestQuoteT)) S.newestQuoteT = ms;
  }

  /** An order frame carries the order's whole state: replace our copy (keyed by link and
   *  broker id), never merge fill lists, so the same frame twice changes nothing. */
  function upsertOrder(order, meta) {
    if (!order || order.id === undefined || order.id === null) return;
    const link = (meta && meta.link) ?? order.link;
    const id = orderKey(order.id, link);
    const old = S.orders.get(id);
    const next = orderCopy(order);
    next._account = (meta && meta.account) ?? order.account ?? order.account_number ?? (old && old._account) ?? null;
    next._simulated = !!((meta && meta.simulated) || (old && old._simulated));
    const changed = !old || JSON.stringify(stripMeta(old)) !== JSON.stringify(stripMeta(next));
    next._rank = !old || changed ? ++S.orderRank : old._rank;
    next._key = id;
    S.orders.set(id, next);
    if (changed) dirty.orders.add(id);
    if (!old) dirty.structure = true;
    else if (changed) dirty.orderOrder = true;
  }

  function stripMeta(o) {
    const { _rank, _account, _simulated, _key, ...rest } = o; // eslint-disable-line no-unused-vars
    return rest;
  }

  function trimOrders() {
    if (S.orders.size <= MAX_ORDERS_SHOWN) return;
    const byRank = Array.from(S.orders.values()).sort((a, b) => a._rank - b._rank);
    for (const o of byRank) {
      if (S.orders.size <= MAX_ORDERS_SHOWN) break;
      S.orders.delete(o._key);
    }
    dirty.structure = true;
  }

  /** Take the user's watchlist if it is newer than ours (a snapshot's: at least as new). */
  function adoptWatchlist(raw, fromSnapshot) {
    const next = watchlistOf(raw);
    if (!watchlistReplaces(S.watchlist, next, fromSnapshot)) return false;
    const same = next.symbols.length === S.watchlist.symbols.length && next.symbols.every((s, i) => s === S.watchlist.symbols[i]);
    S.watchlist = { symbols: next.symbols.slice(), version: next.version };
    if (!same) {
      for (const s of Array.from(S.rejected.keys())) if (!next.symbols.includes(s) && !S.extraSymbols.has(s)) S.rejected.delete(s);
      dirty.watchlist = true;
      for (const s of next.symbols) dirty.quotes.add(s);
      // SSE is one-way: its symbols are fixed when it opens; reopen (resuming) for the new list
      if (conn.es && S.extraSymbols.size) startSse();
    }
    return true;
  }

  function applySnapshot(snap, source) {
    if (!snap || typeof snap !== 'object') return;
    S.epoch = epochOf(snap.epoch);
    S.seq = num(snap.seq) ?? 0;
    // A position is resumable only with an epoch: a page rendered before the stream
    // answered (no epoch) asks the socket for a snapshot.
    S.canResume = S.epoch !== null;
    setPositionAttr();
    S.simulated = !!snap.simulated;
    const oldAccounts = S.accounts;
    S.accounts = new Map();
    for (const a of Array.isArray(snap.accounts) ? snap.accounts : []) {
      if (a && a.number !== undefined && a.number !== null) S.accounts.set(String(a.number), normAccount(a, oldAccounts.get(String(a.number))));
    }
    S.quotes = new Map();
    for (const [sym, q] of Object.entries(snap.quotes || {})) if (q && typeof q === 'object') S.quotes.set(sym, { ...q });
    S.newestQuoteT = newestLiveQuoteT(S.quotes.values());
    S.greeks = new Map();
    for (const [sym, g] of Object.entries(snap.greeks || {})) if (g && typeof g === 'object') S.greeks.set(sym, { ...g });
    // Orders: the snapshot is the authority; keep only finished orders it no longer lists
    // (their state cannot change any more, and the trader already saw them).
    const oldOrders = S.orders;
    S.orders = new Map();
    for (const [id, o] of oldOrders) if (TERMINAL_ORDER.has(o.status)) S.orders.set(id, o);
    const incoming = (Array.isArray(snap.orders) ? snap.orders : []).filter((o) => o && o.id !== undefined && o.id !== null);
    incoming.sort((a, b) => (timeMs(a.updated_at) ?? 0) - (timeMs(b.updated_at) ?? 0));
    for (const o of incoming) upsertOrder(o, { account: o.account ?? o.account_number ?? null, link: o.link });
    trimOrders();
    S.links = new Map();
    for (const l of Array.isArray(snap.links) ? snap.links : []) if (l && l.id !== undefined) S.links.set(String(l.id), { ...l });
    if (snap.watchlist !== undefined) adoptWatchlist(snap.watchlist, true);
    if (source === 'socket' && Array.isArray(snap.subscriptions)) S.subscriptions = snap.subscriptions.slice();
    dirty.structure = true;
    dirty.simulated = true;
    // Account frames that arrived before this snapshot: apply those of its epoch it does
    // not include (older ones are duplicates, other epochs are not ours).
    S.awaitingSnapshot = false;
    const pending = S.pending.filter((f) => f.epoch === undefined || f.epoch === null || f.epoch === S.epoch);
    S.pending = [];
    pending.sort((a, b) => num(a.seq) - num(b.seq));
    for (const f of pending) if (num(f.seq) > S.seq) applyAccountFrame(f);
  }

  function setPositionAttr() {
    const pos = formatPosition(S.epoch, S.seq);
    const v = pos || '';
    if (root.getAttribute('data-position') !== v) root.setAttribute('data-position', v);
  }

  function accountFor(number, frame) {
    const key = String(number);
    let acct = S.accounts.get(key);
    if (!acct) {
      acct = normAccount({ number: key, link: frame.link, simulated: frame.simulated, positions: [] }, null);
      S.accounts.set(key, acct);
      dirty.structure = true;
    }
    if (frame.simulated && !acct.simulated) {
      acct.simulated = true;
      dirty.structure = true;
      dirty.simulated = true;
    }
    return acct;
  }

  function applyAccountFrame(f) {
    if (S.awaitingSnapshot) {
      if (num(f.seq) === null) return;
      S.pending.push(f);
      if (S.pending.length > MAX_PENDING_FRAMES) S.pending.shift();
      return;
    }
    const verdict = accountFrameVerdict({ epoch: S.epoch, seq: S.seq }, f);
    if (verdict === 'invalid' || verdict === 'duplicate') return;
    if (verdict === 'epoch') {
      // Nothing we hold belongs to that epoch: a fresh snapshot, not a resume.
      resync(`new stream epoch ${f.epoch} (had ${S.epoch})`, false);
      return;
    }
    if (verdict === 'gap') {
      resync(`sequence gap: had ${S.epoch}:${S.seq}, got ${f.epoch ?? ''}:${f.seq}`, true);
      return;
    }
    S.seq = num(f.seq);
    setPositionAttr();
    if (f.simulated) { S.simulated = true; dirty.simulated = true; }
    if (f.type === 'order') {
      upsertOrder(f.order, { account: f.account, simulated: f.simulated, link: f.link });
      trimOrders();
      return;
    }
    if (f.account === undefined || f.account === null) return;
    const acct = accountFor(f.account, f);
    if (f.type === 'balance') {
      if (f.balance && typeof f.balance === 'object') Object.assign(acct.balance, f.balance);
      dirty.balances.add(acct.number);
    } else if (f.type === 'positions') {
      const next = new Map();
      for (const p of Array.isArray(f.positions) ? f.positions : []) {
        if (p && p.symbol !== undefined && p.symbol !== null && num(p.quantity) !== 0) next.set(String(p.symbol), { ...p });
      }
      acct.positions = next;
      dirty.positionLists.add(acct.number);
    } else if (f.type === 'position') {
      const p = f.position;
      if (!p || p.symbol === undefined || p.symbol === null) return;
      const sym = String(p.symbol);
      if (num(p.quantity) === 0 || p.direction === 'Zero') {
        if (acct.positions.delete(sym)) dirty.positionLists.add(acct.number);
      } else {
        const had = acct.positions.has(sym);
        acct.positions.set(sym, { ...(acct.positions.get(sym) || {}), ...p });
        if (had) dirty.positions.add(`${acct.number}|${sym}`);
        else dirty.positionLists.add(acct.number);
      }
    }
  }

  function applyQuotes(f) {
    const t = num(f.t);
    for (const [sym, q] of Object.entries(f.quotes || {})) {
      if (!q || typeof q !== 'object') continue;
      const cur = S.quotes.get(sym) || {};
      const prevT = timeMs(cur.t);
      for (const k of Object.keys(q)) cur[k] = q[k]; // absent = unchanged, null = no value
      if (q.t === undefined && t !== null) cur.t = t;
      // a quote's time never moves backwards (a late trade print must not age it)
      if (prevT !== null && (timeMs(cur.t) ?? 0) < prevT) cur.t = prevT;
      S.quotes.set(sym, cur);
      noteQuoteTime(cur);
      dirty.quotes.add(sym);
    }
    for (const [sym, g] of Object.entries(f.greeks || {})) {
      if (!g || typeof g !== 'object') continue;
      const cur = S.greeks.get(sym) || {};
      for (const k of Object.keys(g)) cur[k] = g[k];
      S.greeks.set(sym, cur);
      dirty.greeks.add(sym);
    }
  }

  /**
   * The socket speaks for another user than the page shows (a new login in this
   * browser): reload so header, page and data agree. At most once a minute, so a
   * server that names users differently cannot put the page in a reload loop.
   */
  function reloadForOtherUser() {
    const key = 'streamdesk.userReloadAt';
    let last = 0;
    try { last = Number(sessionStorage.getItem(key)) || 0; } catch (e) { last = Date.now(); }
    if (Date.now() - last < 60000) return false;
    try { sessionStorage.setItem(key, String(Date.now())); } catch (e) { return false; }
    conn.stopped = true;
    location.reload();
    return true;
  }

  function applyFrame(frame) {
    if (typeof frame === 'string') {
      try { frame = JSON.parse(frame); } catch (e) { return; }
    }
    if (!frame || typeof frame !== 'object' || typeof frame.type !== 'string') return;
    S.lastFrameAt = Date.now();
    switch (frame.type) {
      case 'hello': {
        if (cfg.user && frame.user && String(frame.user) !== cfg.user && reloadForOtherUser()) return;
        const st = num(frame.server_time);
        if (st !== null) S.skew = st - Date.now();
        if (frame.limits && typeof frame.limits === 'object') Object.assign(S.limits, frame.limits);
        const staleQuotes = num(frame.stale_after_ms && frame.stale_after_ms.quotes);
        if (staleQuotes !== null && staleQuotes > 0) S.staleAfterMs = staleQuotes;
        if (frame.simulated) { S.simulated = true; dirty.simulated = true; }
        S.awaitingSnapshot = true;
        S.pending = [];
        break;
      }
      case 'snapshot':
        applySnapshot(frame, 'socket');
        break;
      case 'resumed': {
        // The server replays the account frames after our position instead of a snapshot.
        const ep = frame.epoch === undefined ? S.epoch : frame.epoch;
        const from = num(frame.from);
        if (ep !== S.epoch || (from !== null && from > S.seq)) {
          resync(`resumed at ${ep}:${from} but we hold ${S.epoch}:${S.seq}`, false);
          return;
        }
        S.awaitingSnapshot = false;
        const pending = S.pending;
        S.pending = [];
        pending.sort((a, b) => num(a.seq) - num(b.seq));
        for (const f of pending) applyAccountFrame(f);
        break;
      }
      case 'resync':
        // frames may have been lost (the server closes with 4409 right after): take a
        // fresh snapshot now rather than wait for the close
        resync(frame.reason || 'server asked for a resync', false);
        return;
      case 'quotes':
        applyQuotes(frame);
        break;
      case 'balance':
      case 'positions':
      case 'position':
      case 'order':
        applyAccountFrame(frame);
        break;
      case 'status':
        if (frame.link && frame.link.id !== undefined) {
          const id = String(frame.link.id);
          const isNew = !S.links.has(id);
          S.links.set(id, { ...frame.link });
          if (isNew) dirty.structure = true;
          dirty.links.add(id);
          if (frame.link.simulated) { S.simulated = true; dirty.simulated = true; }
        }
        break;
      case 'watchlist':
        adoptWatchlist({ symbols: frame.symbols, version: frame.version }, false);
        break;
      case 'subscribed':
        if (Array.isArray(frame.symbols)) S.subscriptions = frame.symbols.slice();
        for (const s of S.subscriptions) S.rejected.delete(s);
        for (const r of Array.isArray(frame.rejected) ? frame.rejected : []) {
          if (!r || typeof r.symbol !== 'string') continue;
          const reason = String(r.reason || 'rejected');
          if (S.rejected.get(r.symbol) === reason) continue; // already told (resubscribe after a reconnect)
          S.rejected.set(r.symbol, reason);
          showMessage(`${r.symbol}: ${REASONS[reason] || reason}`);
        }
        dirty.watchlist = true;
        break;
      case 'error': {
        const what = frame.ref ? ` (${frame.ref})` : '';
        showMessage(`Server refused a request${what}: ${frame.message || frame.code || 'error'}`);
        break;
      }
      case 'pong': {
        const sent = conn.pings.get(String(frame.id));
        conn.pings.delete(String(frame.id));
        const t = num(frame.t);
        if (sent !== undefined && t !== null) {
          const now = Date.now();
          S.skew = t - (sent + (now - sent) / 2);
        }
        break;
      }
      default:
        return; // unknown frame types are ignored
    }
    scheduleRender();
  }

  // ------------------------------------------------------------------ DOM: registries

  const accountsEl = document.getElementById('accounts');
  const accountsEmptyEl = document.getElementById('accounts-empty');
  const watchRowsEl = document.getElementById('watchlist-rows');
  const watchEmptyEl = document.getElementById('watchlist-empty');
  const ordersEl = document.getElementById('orders');
  const ordersEmptyEl = document.getElementById('orders-empty');
  const linksEl = document.getElementById('links');
  const connEl = document.getElementById('conn-state');
  const dataStateEl = document.getElementById('data-state');
  const ageEl = document.getElementById('data-age');
  const form = document.getElementById('watchlist-form');

  const accountEls = new Map();
  const positionRows = new Map();
  const quoteRows = new Map();
  const orderEls = new Map();
  const linkEls = new Map();
  const streamerIndex = new Map(); // streamer symbol -> Set("acct|symbol")

  function adoptServerDom() {
    for (const a of document.querySelectorAll('[data-account]')) accountEls.set(a.getAttribute('data-account'), a);
    for (const r of document.querySelectorAll('tr[data-position]')) positionRows.set(r.getAttribute('data-position'), r);
    for (const r of document.querySelectorAll('tr[data-quote]')) quoteRows.set(r.getAttribute('data-quote'), r);
    for (const o of document.querySelectorAll('li[data-order]')) orderEls.set(o.getAttribute('data-order'), o);
    for (const l of document.querySelectorAll('[data-link]')) linkEls.set(l.getAttribute('data-link'), l);
  }

  const POSITION_COLS = ['quantity', 'mark', 'day_pnl', 'open_pnl', 'average_open_price', 'delta', 'position_delta', 'gamma', 'theta', 'vega', 'iv'];
  // [visible label, unit suffix, title]: greeks are per share, as the brokers send them
  // (the same as the template's header).
  const POSITION_HEADS = [
    ['Symbol', '', ''],
    ['Qty', '', 'Quantity (negative: short)'],
    ['Mark', '', 'Mark: mid of the live bid and ask'],
    ['Day P&L', '', 'Day P&L from the live mark'],
    ['Open P&L', '', 'Open P&L from the live mark'],
    ['Avg', '', 'Average open price'],
    ['Δ', '', 'Delta per share'],
    ['Pos Δ', '', 'Position delta: delta × quantity × multiplier'],
    ['Γ', '', 'Gamma per share'],
    ['Θ', '/sh', 'Theta per share, per day (a contract: × its multiplier)'],
    ['Vega', '/sh', 'Vega per share, per vol point (a contract: × its multiplier)'],
    ['IV', '', 'Implied volatility'],
  ];

  function isOption(p) {
    return /option/i.test(String(p.instrument_type || '')) || String(p.streamer_symbol || '').startsWith('.');
  }

  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const STREAMER_OPTION_PARTS = /^\.([A-Z][A-Z0-9]{0,5})(\d{2})(\d{2})(\d{2})([CP])(\d+(?:\.\d+)?)$/;

  /** "SPY 570P" over "exp 20 Mar 26" for options; the symbol over its type otherwise. */
  function symbolLabel(p) {
    const m = STREAMER_OPTION_PARTS.exec(String(p.streamer_symbol || ''));
    const type = String(p.instrument_type || '');
    if (m && Number(m[3]) >= 1 && Number(m[3]) <= 12) {
      return { main: `${m[1]} ${m[6]}${m[5]}`, sub: `exp ${m[4]} ${MONTHS[Number(m[3]) - 1]} ${m[2]}` };
    }
    return { main: String(p.symbol), sub: type };
  }

  function labelSymbolCell(row, p) {
    if (row._sdLabeled) return;
    row._sdLabeled = true;
    const th = row.querySelector('[data-field="symbol"]');
    if (!th) return;
    const { main, sub } = symbolLabel(p);
    const symEl = th.querySelector('.sym');
    const subEl = th.querySelector('.sub');
    if (symEl) setText(symEl, main);
    if (subEl) setText(subEl, sub);
    th.title = String(p.symbol);
  }

  function buildPositionRow(acct, p) {
    const key = `${acct.number}|${p.symbol}`;
    const tr = el('tr', { 'data-position': key, 'data-streamer': p.streamer_symbol || '', 'data-option': isOption(p) ? 'true' : null });
    tr.append(el('th', { scope: 'row', class: 'col-sym', 'data-field': 'symbol' },
      el('span', { class: 'sym' }, ''), el('span', { class: 'sub' }, '')));
    for (const f of POSITION_COLS) {
      tr.append(el('td', { class: f.endsWith('pnl') ? 'num pnl' : 'num', 'data-field': f }, DASH));
    }
    return tr;
  }

  function buildBalance(label, field, cls) {
    return el('div', { class: `bal ${cls || ''}`.trim() }, el('dt', null, label), el('dd', { class: field.includes('pnl') ? 'num pnl' : 'num', 'data-field': field }, DASH));
  }

  function buildAccount(acct) {
    const thead = el('thead', null, el('tr', null, ...POSITION_HEADS.map(([label, unit, title], i) => el('th', {
      scope: 'col', class: i === 0 ? 'col-sym' : null, title: title || null, 'data-col': i ? POSITION_COLS[i - 1] : 'symbol',
    }, label, unit ? el('span', { class: 'unit' }, unit) : null))));
    const article = el('article', { class: 'card account', 'data-account': acct.number, 'data-account-link': acct.link ?? '', 'data-simulated': acct.simulated ? 'true' : 'false' },
      el('header', { class: 'account-head' },
        el('h2', { class: 'account-name' }, el('span', { 'data-field': 'name' }, ''), ' ', el('span', { class: 'acct-no', 'data-field': 'number' }, acct.number)),
        el('span', { class: 'account-meta' }, el('span', { 'data-field': 'broker' }, ''), el('span', { 'data-field': 'margin_or_cash' }, '')),
        el('span', { class: 'link-warn', 'data-field': 'link_state', hidden: true })),
      el('dl', { class: 'balances' },
        buildBalance('Net liq', 'net_liquidating_value', 'bal-main'),
        buildBalance('Buying power', 'buying_power', 'bal-main'),
        buildBalance('Cash', 'cash', 'bal-main'),
        buildBalance('Day P&L', 'total_day_pnl'),
        buildBalance('Open P&L', 'total_open_pnl'),
        buildBalance('Option BP', 'derivative_buying_power', 'bal-minor'),
        buildBalance('Maint. req.', 'maintenance_requirement', 'bal-minor'),
        buildBalance('Withdrawable', 'cash_available_to_withdraw', 'bal-minor')),
      el('div', { class: 'table-wrap' }, el('table', { class: 'grid positions' }, thead, el('tbody', { 'data-positions': acct.number }))),
      el('p', { class: 'no-positions muted', hidden: true }, 'No open positions.'));
    return article;
  }

  function renderAccountHeader(acct) {
    const art = accountEls.get(acct.number);
    if (!art) return;
    const name = art.querySelector('.account-head [data-field="name"]');
    if (name) setText(name, acct.nickname || acct.label || acct.number);
    const broker = art.querySelector('.account-head [data-field="broker"]');
    if (broker) setText(broker, acct.broker || '');
    const moc = art.querySelector('.account-head [data-field="margin_or_cash"]');
    if (moc) setText(moc, acct.margin_or_cash || '');
    art.setAttribute('data-account-link', acct.link ?? '');
    art.setAttribute('data-simulated', acct.simulated ? 'true' : 'false');
    art.classList.toggle('is-sim', acct.simulated);
    let badge = art.querySelector('[data-badge="simulated"]');
    if (acct.simulated && !badge) {
      badge = el('span', { class: 'badge badge-sim', 'data-badge': 'simulated' }, 'SIMULATED');
      const head = art.querySelector('.account-head');
      const warn = head.querySelector('.link-warn');
      head.insertBefore(badge, warn);
    } else if (!acct.simulated && badge) {
      badge.remove();
    }
  }

  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  function setAttr(node, name, value) {
    if (!node) return;
    if (value === null || value === undefined) {
      if (node.hasAttribute(name)) node.removeAttribute(name);
    } else if (node.getAttribute(name) !== value) {
      node.setAttribute(name, value);
    }
  }

  /** A DELAYED badge inside `container` (made on first need), shown while `on`. */
  function delayedBadge(container, on, small) {
    if (!container) return;
    let badge = container.querySelector(':scope > [data-badge="delayed"]');
    if (on && !badge) {
      badge = el('span', { class: `badge badge-delayed${small ? ' badge-small' : ''}`, 'data-badge': 'delayed' }, 'DELAYED');
      container.append(badge);
    }
    if (badge) badge.hidden = !on;
  }

  /** Mark a value cell stale (class `is-stale`) or delayed, with a title saying why. */
  function markCell(node, stale, delayed, why) {
    if (!node) return;
    node.classList.toggle('is-stale', !!stale);
    node.classList.toggle('is-delayed', !!delayed);
    setAttr(node, 'title', why || null);
  }

  // ------------------------------------------------------------------ DOM: reconcile structure

  function reconcileAccounts() {
    const nodes = [];
    for (const acct of S.accounts.values()) {
      let art = accountEls.get(acct.number);
      if (!art) {
        art = buildAccount(acct);
        accountEls.set(acct.number, art);
      }
      nodes.push(art);
    }
    for (const [num_, art] of accountEls) {
      if (!S.accounts.has(num_)) {
        accountEls.delete(num_);
        art.remove();
      }
    }
    if (accountsEl) reconcileChildren(accountsEl, nodes);
    if (accountsEmptyEl) accountsEmptyEl.hidden = S.accounts.size > 0;
    for (const acct of S.accounts.values()) {
      renderAccountHeader(acct);
      reconcilePositions(acct);
      dirty.balances.add(acct.number);
    }
    // drop rows of accounts that went away
    for (const key of Array.from(positionRows.keys())) {
      const acctNo = key.slice(0, key.indexOf('|'));
      if (!S.accounts.has(acctNo)) positionRows.delete(key);
    }
    rebuildStreamerIndex();
  }

  function reconcilePositions(acct) {
    const art = accountEls.get(acct.number);
    if (!art) return;
    const tbody = art.querySelector('tbody[data-positions]');
    if (!tbody) return;
    const nodes = [];
    const prefix = `${acct.number}|`;
    const live = new Set();
    for (const p of acct.positions.values()) {
      const key = prefix + p.symbol;
      live.add(key);
      let row = positionRows.get(key);
      if (!row) {
        row = buildPositionRow(acct, p);
        positionRows.set(key, row);
      }
      if (p.streamer_symbol && row.getAttribute('data-streamer') !== p.streamer_symbol) row.setAttribute('data-streamer', p.streamer_symbol);
      labelSymbolCell(row, p);
      nodes.push(row);
      dirty.positions.add(key);
    }
    for (const key of Array.from(positionRows.keys())) {
      if (key.startsWith(prefix) && !live.has(key)) positionRows.delete(key);
    }
    reconcileChildren(tbody, nodes);
    const none = art.querySelector('.no-positions');
    if (none) none.hidden = acct.positions.size > 0;
    dirty.totals.add(acct.number);
  }

  function rebuildStreamerIndex() {
    streamerIndex.clear();
    for (const acct of S.accounts.values()) {
      for (const p of acct.positions.values()) {
        const ss = p.streamer_symbol || p.symbol;
        if (!streamerIndex.has(ss)) streamerIndex.set(ss, new Set());
        streamerIndex.get(ss).add(`${acct.number}|${p.symbol}`);
      }
    }
  }

  function buildQuoteRow(sym) {
    return el('tr', { 'data-quote': sym, 'data-stale': 'true', 'data-delayed': 'false' },
      el('th', { scope: 'row', class: 'col-sym', 'data-field': 'symbol' }, el('span', { class: 'sym', title: sym }, sym)),
      el('td', { class: 'num', 'data-field': 'bid' }, DASH),
      el('td', { class: 'num', 'data-field': 'ask' }, DASH),
      el('td', { class: 'num col-last', 'data-field': 'last' }, DASH),
      el('td', { class: 'num', 'data-field': 'change' }, DASH),
      el('td', { class: 'num col-vol', 'data-field': 'volume' }, DASH),
      el('td', { class: 'rm' }, el('button', { type: 'button', class: 'btn-rm', 'data-remove': sym, 'aria-label': `Remove ${sym}`, title: `Remove ${sym}` }, '×')));
  }

  function reconcileWatchlist() {
    const nodes = [];
    const symbols = S.watchlist.symbols;
    const wanted = new Set(symbols);
    for (const sym of symbols) {
      let row = quoteRows.get(sym);
      if (!row) {
        row = buildQuoteRow(sym);
        quoteRows.set(sym, row);
        dirty.quotes.add(sym);
      }
      const reason = S.rejected.get(sym);
      if (reason) row.setAttribute('data-rejected', reason);
      else if (row.hasAttribute('data-rejected')) row.removeAttribute('data-rejected');
      nodes.push(row);
    }
    for (const sym of Array.from(quoteRows.keys())) if (!wanted.has(sym)) quoteRows.delete(sym);
    if (watchRowsEl) reconcileChildren(watchRowsEl, nodes);
    if (watchEmptyEl) watchEmptyEl.hidden = symbols.length > 0;
    if (watchRowsEl) watchRowsEl.setAttribute('data-version', S.watchlist.version === null ? '' : String(S.watchlist.version));
  }

  function orderedOrderIds() {
    return Array.from(S.orders.values()).sort((a, b) => b._rank - a._rank).map((o) => o._key);
  }

  function reconcileOrders() {
    const nodes = [];
    for (const id of orderedOrderIds()) {
      let li = orderEls.get(id);
      if (!li) {
        li = el('li', { class: 'order', 'data-order': id });
        orderEls.set(id, li);
        dirty.orders.add(id);
      }
      nodes.push(li);
    }
    for (const id of Array.from(orderEls.keys())) if (!S.orders.has(id)) orderEls.delete(id);
    if (ordersEl) reconcileChildren(ordersEl, nodes);
    if (ordersEmptyEl) ordersEmptyEl.hidden = S.orders.size > 0;
  }

  function reconcileLinks() {
    const nodes = [];
    for (const [id] of S.links) {
      let node = linkEls.get(id);
      if (!node) {
        node = el('span', { class: 'link', 'data-link': id }, el('span', { class: 'link-label' }, ''));
        linkEls.set(id, node);
      }
      nodes.push(node);
      dirty.links.add(id);
    }
    for (const id of Array.from(linkEls.keys())) if (!S.links.has(id)) linkEls.delete(id);
    if (linksEl) reconcileChildren(linksEl, nodes);
  }

  // ------------------------------------------------------------------ DOM: values

  /** The mark a position is valued at: the live quote's mid (or last), else the broker's. */
  function markOf(p) {
    const q = S.quotes.get(p.streamer_symbol || p.symbol);
    if (q) {
      const bid = num(q.bid);
      const ask = num(q.ask);
      if (bid !== null && ask !== null) return { mark: (bid + ask) / 2, live: true, quote: q };
      const last = num(q.last);
      if (last !== null) return { mark: last, live: true, quote: q };
    }
    return { mark: num(p.mark_price), live: false, quote: null };
  }

  function linkOf(acct) {
    return acct.link === null || acct.link === undefined ? null : S.links.get(String(acct.link)) || null;
  }

  function asOfText(ms) {
    if (ms === null || ms === undefined) return 'not confirmed yet';
    const d = new Date(ms);
    const sameDay = new Date().toDateString() === d.toDateString();
    return `as of ${sameDay ? '' : `${d.toLocaleDateString('en-US', { month: 'short', day: 'numeric' })} `}${fmt.time(ms)}`;
  }

  /** Whether the account's balances and positions are current, and if not, why. */
  function accountView(acct) {
    const f = accountFreshness(linkOf(acct));
    return { live: f.live, state: f.state, asOf: f.asOf, why: f.live ? '' : `account data ${f.state}${f.reason ? ` (${f.reason})` : ''}, ${asOfText(f.asOf)}` };
  }

  /** Freshness of a position's mark (and the P&L derived from it) at server time `now`. */
  function markView(p, now) {
    const { mark, live, quote } = markOf(p);
    if (mark === null) return { stale: false, delayed: false, why: '' };
    if (!live) return { stale: true, delayed: false, why: 'no live quote: the broker\'s mark' };
    const delayed = !!quote.delayed;
    const age = quoteAge(quote, now);
    const stale = quoteStale(quote, now, S.staleAfterMs);
    const parts = [];
    if (delayed) parts.push('DELAYED quote');
    parts.push(age === null ? 'quote time unknown' : `quote ${fmtAge(age)} old${stale ? ' (stale)' : ''}`);
    return { stale, delayed, why: parts.join(', ') };
  }

  /** Staleness and delay marks of one position row (re-run by the timer: ages grow). */
  function positionFreshness(acct, p, av, now) {
    const row = positionRows.get(`${acct.number}|${p.symbol}`);
    const mv = markView(p, now);
    p._stale = mv.stale || !av.live;
    if (!row) return;
    const c = cellsOf(row);
    const accountWhy = av.live ? '' : av.why;
    const pnlWhy = [mv.why, accountWhy].filter(Boolean).join('; ');
    markCell(c.quantity, !av.live, false, accountWhy);
    markCell(c.average_open_price, !av.live, false, accountWhy);
    markCell(c.position_delta, !av.live, false, accountWhy);
    markCell(c.mark, mv.stale, mv.delayed, mv.why);
    markCell(c.day_pnl, mv.stale || !av.live, mv.delayed, pnlWhy);
    markCell(c.open_pnl, mv.stale || !av.live, mv.delayed, pnlWhy);
    setAttr(row, 'data-stale', p._stale ? 'true' : 'false');
    setAttr(row, 'data-delayed', mv.delayed ? 'true' : 'false');
    delayedBadge(c.symbol, mv.delayed, true);
    p._delayed = mv.delayed;
    if (mv.delayed) S.delayedInView = true;
  }

  function renderPosition(acct, p) {
    const key = `${acct.number}|${p.symbol}`;
    const row = positionRows.get(key);
    const sign = p.direction === 'Short' ? -1 : 1;
    const qty = num(p.quantity);
    const mult = num(p.multiplier) ?? 1;
    const avg = num(p.average_open_price);
    const close = num(p.close_price);
    const { mark, live } = markOf(p);
    const open = mark !== null && avg !== null && qty !== null ? (mark - avg) * qty * mult * sign : null;
    const day = mark !== null && close !== null && qty !== null ? (mark - close) * qty * mult * sign : null;
    p._open = open;
    p._day = day;
    positionFreshness(acct, p, accountView(acct), serverNow());
    if (!row) return;
    const c = cellsOf(row);
    const signedQty = qty === null ? null : qty * sign;
    setCell(c.quantity, fmt.qty(signedQty), signedQty);
    setCell(c.average_open_price, fmt.price(avg), avg);
    setCell(c.mark, fmt.price(mark), mark, { flash: true });
    if (c.mark) c.mark.classList.toggle('broker-mark', !live && mark !== null);
    setCell(c.day_pnl, fmt.pnl(day), day, { signed: true });
    setCell(c.open_pnl, fmt.pnl(open), open, { signed: true });
    const opt = isOption(p);
    const g = opt ? S.greeks.get(p.streamer_symbol || p.symbol) : null;
    const delta = g ? num(g.delta) : null;
    let posDelta = null;
    if (opt) posDelta = delta !== null && qty !== null ? delta * qty * mult * sign : null;
    else if (qty !== null && /equity|stock|etf/i.test(String(p.instrument_type || 'Equity'))) posDelta = qty * mult * sign;
    setCell(c.delta, fmt.greek(delta, 3), delta);
    setCell(c.position_delta, posDelta === null ? DASH : nf(0, 1, 'sign').format(posDelta), posDelta, { signed: true });
    const gamma = g ? num(g.gamma) : null;
    const theta = g ? num(g.theta) : null;
    const vega = g ? num(g.vega) : null;
    const iv = g ? num(g.iv) : null;
    setCell(c.gamma, fmt.greek(gamma, 4), gamma);
    setCell(c.theta, fmt.greek(theta, 3), theta);
    setCell(c.vega, fmt.greek(vega, 3), vega);
    setCell(c.iv, fmt.pct(iv), iv);
  }

  const BALANCE_FIELDS = ['net_liquidating_value', 'buying_power', 'cash', 'derivative_buying_power', 'maintenance_requirement', 'cash_available_to_withdraw'];

  function renderBalance(acct) {
    const art = accountEls.get(acct.number);
    if (!art) return;
    const dl = art.querySelector('.balances');
    if (!dl) return;
    const cells = cellsOf(dl);
    for (const f of BALANCE_FIELDS) {
      const v = num(acct.balance[f]);
      setCell(cells[f], fmt.money(v), v, { flash: true });
    }
  }

  function renderTotals(acct) {
    const art = accountEls.get(acct.number);
    if (!art) return;
    const cells = cellsOf(art.querySelector('.balances'));
    let open = 0;
    let day = 0;
    let openN = 0;
    let dayN = 0;
    let missing = false;
    for (const p of acct.positions.values()) {
      if (p._open === undefined) renderPosition(acct, p);
      if (p._open !== null) { open += p._open; openN++; } else missing = true;
      if (p._day !== null) { day += p._day; dayN++; } else missing = true;
    }
    const o = openN ? open : (acct.positions.size ? null : 0);
    const d = dayN ? day : (acct.positions.size ? null : 0);
    setCell(cells.total_open_pnl, fmt.pnl(o), o, { signed: true });
    setCell(cells.total_day_pnl, fmt.pnl(d), d, { signed: true });
    for (const c of [cells.total_open_pnl, cells.total_day_pnl]) {
      if (!c) continue;
      if (missing) c.setAttribute('data-partial', 'true');
      else if (c.hasAttribute('data-partial')) c.removeAttribute('data-partial');
    }
    totalsFreshness(acct, accountView(acct));
  }

  /** Account totals are stale when any position's mark is, or the account data is. */
  function totalsFreshness(acct, av) {
    const art = accountEls.get(acct.number);
    if (!art) return;
    const cells = cellsOf(art.querySelector('.balances'));
    let staleMarks = 0;
    let delayed = false;
    let missing = false;
    for (const p of acct.positions.values()) {
      if (p._stale && markOf(p).mark !== null) staleMarks++;
      if (p._delayed) delayed = true;
      if (p._open === null || p._day === null) missing = true;
    }
    const why = [
      missing ? 'some positions have no price yet' : '',
      staleMarks ? `${staleMarks} position${staleMarks > 1 ? 's' : ''} valued at a stale or broker mark` : '',
      delayed ? 'includes DELAYED quotes' : '',
      av.live ? '' : av.why,
    ].filter(Boolean).join('; ');
    for (const c of [cells.total_open_pnl, cells.total_day_pnl]) markCell(c, staleMarks > 0 || !av.live, delayed, why);
  }

  /** Balances and the account's warning line: stale "as of" last_ok while the account kind is not live. */
  function accountFreshnessDom(acct, av) {
    const art = accountEls.get(acct.number);
    if (!art) return;
    const link = linkOf(acct);
    setAttr(art, 'data-account-state', av.state);
    setAttr(art, 'data-fresh', av.live ? 'true' : 'false');
    setAttr(art, 'data-link-state', link ? String(link.state || 'stopped') : null);
    art.classList.toggle('is-stale', !av.live);
    const cells = cellsOf(art.querySelector('.balances'));
    for (const f of BALANCE_FIELDS) markCell(cells[f], !av.live, false, av.live ? '' : av.why);
    const warn = art.querySelector('[data-field="link_state"]');
    if (!warn) return;
    let text = '';
    if (!av.live) {
      const k = kindsOf(link).account;
      text = `account ${av.state}${k.reason ? `: ${k.reason}` : ''} · ${asOfText(av.asOf)}`;
    } else if (link && link.state && link.state !== 'live') {
      text = `link ${link.state}${link.reason ? `: ${link.reason}` : ''}`;
    }
    warn.hidden = !text;
    setText(warn, text);
  }

  function renderQuoteRow(sym) {
    const row = quoteRows.get(sym);
    if (!row) return;
    const q = S.quotes.get(sym) || {};
    const c = cellsOf(row);
    const bid = num(q.bid);
    const ask = num(q.ask);
    const last = num(q.last);
    const chg = num(q.change);
    const vol = num(q.volume);
    setCell(c.bid, fmt.price(bid), bid, { flash: true });
    setCell(c.ask, fmt.price(ask), ask, { flash: true });
    setCell(c.last, fmt.price(last), last, { flash: true });
    setCell(c.change, fmt.change(chg), chg, { signed: true });
    setCell(c.volume, fmt.volume(vol), vol);
    quoteFreshness(sym, row, serverNow());
  }

  const QUOTE_VALUE_FIELDS = ['bid', 'ask', 'last', 'change', 'volume'];

  /** A watchlist row: `data-stale` + class `is-stale` + a title with the quote's age;
   *  `data-delayed` + a DELAYED badge for a quote from a delayed source. */
  function quoteFreshness(sym, row, now) {
    const q = S.quotes.get(sym);
    const age = quoteAge(q, now);
    const stale = quoteStale(q, now, S.staleAfterMs);
    const delayed = !!(q && q.delayed);
    setAttr(row, 'data-stale', stale ? 'true' : 'false');
    setAttr(row, 'data-delayed', delayed ? 'true' : 'false');
    row.classList.toggle('is-stale', stale);
    row.classList.toggle('is-delayed', delayed);
    const parts = [];
    const reason = S.rejected.get(sym);
    if (reason) parts.push(`${sym}: ${REASONS[reason] || reason}`);
    if (!q) parts.push('no quote yet');
    else parts.push(`${delayed ? 'DELAYED quote, ' : ''}${age === null ? 'quote time unknown' : `quote ${fmtAge(age)} old`}${stale ? ' (stale)' : ''}`);
    const why = parts.join(' · ');
    setAttr(row, 'title', why);
    const c = cellsOf(row);
    for (const f of QUOTE_VALUE_FIELDS) {
      if (!c[f]) continue;
      c[f].classList.toggle('is-stale', stale);
      c[f].classList.toggle('is-delayed', delayed);
    }
    delayedBadge(c.symbol, delayed, true);
    if (delayed) S.delayedInView = true;
  }

  function renderOrder(id) {
    const li = orderEls.get(id);
    const o = S.orders.get(id);
    if (!li || !o) return;
    li.setAttribute('data-status', String(o.status || ''));
    if (o._account !== null && o._account !== undefined) li.setAttribute('data-order-account', String(o._account));
    const acct = o._account !== null && o._account !== undefined ? S.accounts.get(String(o._account)) : null;
    const sim = o._simulated || (acct && acct.simulated);
    const price = num(o.price);
    const head = el('div', { class: 'order-head' },
      el('span', { class: 'order-status', 'data-field': 'status' }, String(o.status || '')),
      el('span', { class: 'order-und', 'data-field': 'underlying' }, String(o.underlying || '')),
      el('span', { class: 'order-type' },
        [o.order_type, price !== null ? fmt.price(price) : null, o.price_effect, o.time_in_force].filter((x) => x !== null && x !== undefined && x !== '').join(' ')),
      sim ? el('span', { class: 'badge badge-sim badge-small' }, 'SIM') : null,
      el('time', { class: 'order-time', 'data-field': 'updated_at' }, fmt.time(timeMs(o.updated_at))));
    const legs = el('div', { class: 'legs' });
    for (const leg of o.legs || []) {
      const qty = num(leg.quantity);
      const rem = num(leg.remaining_quantity);
      const filledQty = qty !== null && rem !== null ? qty - rem : null;
      const legEl = el('div', { class: 'leg' },
        el('span', { class: 'leg-desc' }, [leg.action, qty !== null ? fmt.qty(qty) : null, leg.symbol].filter((x) => x !== null && x !== undefined).join(' ')),
        filledQty !== null && filledQty > 0 ? el('span', { class: 'leg-filled' }, ` ${fmt.qty(filledQty)}/${fmt.qty(qty)} filled`) : null);
      const fills = el('div', { class: 'fills' });
      for (const f of leg.fills || []) {
        const fq = num(f.quantity);
        const fp = num(f.price);
        fills.append(el('div', { class: 'fill', 'data-fill': String(f.id) },
          `filled ${fq === null ? DASH : fmt.qty(fq)} @ ${fmt.price(fp)}`,
          f.at !== null && f.at !== undefined ? el('time', { class: 'fill-time' }, ` ${fmt.time(timeMs(f.at))}`) : null));
      }
      if (fills.childElementCount) legEl.append(fills);
      legs.append(legEl);
    }
    li.replaceChildren(head, legs);
    if (flashEnabled && !reducedMotion && typeof li.animate === 'function') {
      li.animate([{ backgroundColor: 'rgba(88, 166, 255, 0.25)' }, { backgroundColor: 'rgba(0, 0, 0, 0)' }], { duration: 1200, easing: 'ease-out' });
    }
  }

  const KIND_LABEL = { quotes: 'quotes', account: 'account' };

  function renderLink(id) {
    const node = linkEls.get(id);
    const l = S.links.get(id);
    if (!node || !l) return;
    const state = String(l.state || 'stopped');
    const kinds = kindsOf(l);
    setAttr(node, 'data-state', state);
    for (const k of KINDS) setAttr(node, `data-${k}-state`, kinds[k].state);
    setAttr(node, 'data-quote-source', l.quote_source ? 'true' : 'false');
    setAttr(node, 'data-delayed', l.delayed ? 'true' : 'false');
    let label = node.querySelector('.link-label');
    if (!label) {
      label = el('span', { class: 'link-label' });
      node.prepend(label);
    }
    setText(label, String(l.label || l.broker || `link ${id}`));
    // one visible "kind state" per kind in use (idle kinds are not shown)
    const old = node.querySelector('.link-state');
    if (old) old.remove();
    for (const k of KINDS) {
      let span = node.querySelector(`[data-kind="${k}"]`);
      const show = kinds[k].state !== 'idle';
      if (show && !span) {
        span = el('span', { class: 'link-kind', 'data-kind': k });
        // kinds in contract order, before the DELAYED badge
        const later = KINDS.slice(KINDS.indexOf(k) + 1).map((n) => node.querySelector(`[data-kind="${n}"]`)).find(Boolean);
        node.insertBefore(span, later || node.querySelector('[data-badge="delayed"]'));
      }
      if (!span) continue;
      span.hidden = !show;
      setAttr(span, 'data-state', kinds[k].state);
      setText(span, `${KIND_LABEL[k]} ${kinds[k].state}`);
      setAttr(span, 'title', kinds[k].reason ? `${k}: ${kinds[k].reason}` : null);
    }
    delayedBadge(node, !!l.delayed, true);
    const parts = [`${l.broker || ''} ${l.label || ''}`.trim(), `state ${state}`];
    if (l.reason) parts.push(String(l.reason));
    for (const k of KINDS) {
      const v = kinds[k];
      if (v.state === 'idle') { parts.push(`${k}: idle (not the quote source)`); continue; }
      parts.push(`${k}: ${v.state}${v.reason ? ` (${v.reason})` : ''}${v.last_ok ? `, last confirmed ${fmt.time(v.last_ok)}` : ''}`);
    }
    if (l.quote_source) parts.push('feeds your quotes');
    if (l.delayed) parts.push(`DELAYED market data${num(l.delay_ms) !== null ? ` (about ${fmtAge(num(l.delay_ms))})` : ''}`);
    if (num(l.reconnects)) parts.push(`${l.reconnects} reconnects`);
    if (num(l.last_event_age_ms) !== null) parts.push(`last event ${fmtAge(num(l.last_event_age_ms))} ago`);
    if (l.simulated) parts.push('SIMULATED');
    node.title = parts.join(' · ');
  }

  /**
   * Everything whose freshness depends on the clock: quote rows, position marks and P&L,
   * account balances, the data pill and the data age. Runs every second and after frames
   * that change link states: a value goes stale without any frame arriving.
   */
  function renderFreshness() {
    const now = serverNow();
    for (const [sym, row] of quoteRows) quoteFreshness(sym, row, now);
    let delayedInView = false;
    for (const acct of S.accounts.values()) {
      const av = accountView(acct);
      accountFreshnessDom(acct, av);
      for (const p of acct.positions.values()) {
        positionFreshness(acct, p, av, now);
        if (p._delayed) delayedInView = true;
      }
      totalsFreshness(acct, av);
    }
    for (const sym of S.watchlist.symbols) {
      const q = S.quotes.get(sym);
      if (q && q.delayed) delayedInView = true;
    }
    S.delayedInView = delayedInView;
    return renderPill();
  }

  /** The data pill (`fresh` | `stale` | `delayed`), the data age and body[data-stale]. */
  function renderPill() {
    const now = serverNow();
    const age = S.newestQuoteT === null ? null : Math.max(0, now - S.newestQuoteT);
    if (ageEl) {
      setText(ageEl, fmtAge(age));
      setAttr(ageEl, 'data-age-ms', age === null ? '' : String(Math.round(age)));
      setAttr(ageEl, 'title', 'age of the newest live (not delayed) quote');
    }
    const silent = Date.now() - S.lastFrameAt;
    const ds = dataState({
      links: Array.from(S.links.values()), newestQuoteT: S.newestQuoteT, anyDelayedQuote: !!S.delayedInView,
      now, staleMs: S.staleAfterMs, silentMs: silent, silentAfterMs: STALE_PAGE_MS,
    });
    if (dataStateEl) {
      setText(dataStateEl, ds.state);
      setAttr(dataStateEl, 'data-state', ds.state);
      setAttr(dataStateEl, 'title', ds.why.length ? ds.why.join('\n') : 'all data current');
    }
    setAttr(document.body, 'data-data-state', ds.state);
    setAttr(document.body, 'data-stale', silent > STALE_PAGE_MS ? 'true' : 'false');
    return ds;
  }

  function isSimulated() {
    if (S.simulated) return true;
    for (const a of S.accounts.values()) if (a.simulated) return true;
    for (const l of S.links.values()) if (l.simulated) return true;
    return false;
  }

  function renderSimulated() {
    const sim = isSimulated();
    let banner = document.getElementById('simulated-banner');
    if (sim && !banner) {
      banner = el('div', { id: 'simulated-banner', class: 'sim-banner', role: 'alert' }, el('strong', null, 'SIMULATED DATA — sandbox broker, not real money'));
      root.insertBefore(banner, root.firstChild);
    } else if (!sim && banner) {
      banner.remove();
    }
    let pill = document.getElementById('sim-pill');
    if (sim && !pill) {
      pill = el('span', { id: 'sim-pill', class: 'badge badge-sim' }, 'SIMULATED');
      const bar = document.getElementById('status-bar');
      if (bar) bar.insertBefore(pill, linksEl);
    } else if (!sim && pill) {
      pill.remove();
    }
    const base = document.title.replace(/^\[SIMULATED\]\s*/, '');
    const title = sim ? `[SIMULATED] ${base}` : base;
    if (document.title !== title) document.title = title;
    document.body.classList.toggle('simulated', sim);
  }

  /** Apply everything that changed since the last render (one animation frame). */
  function render(withFlash) {
    flashEnabled = !!withFlash && !dirty.structure;
    let sweep = false;
    try {
      if (dirty.structure) {
        dirty.structure = false;
        dirty.watchlist = true;
        sweep = true;
        reconcileAccounts();
        reconcileOrders();
        reconcileLinks();
        for (const sym of S.watchlist.symbols) dirty.quotes.add(sym);
        for (const id of S.orders.keys()) dirty.orders.add(id);
      }
      if (dirty.orderOrder) {
        dirty.orderOrder = false;
        reconcileOrders();
      }
      if (dirty.positionLists.size) {
        for (const n of dirty.positionLists) {
          const acct = S.accounts.get(n);
          if (acct) reconcilePositions(acct);
        }
        dirty.positionLists.clear();
        rebuildStreamerIndex();
      }
      if (dirty.watchlist) {
        dirty.watchlist = false;
        reconcileWatchlist();
      }
      for (const sym of dirty.quotes) {
        renderQuoteRow(sym);
        const keys = streamerIndex.get(sym);
        if (keys) for (const k of keys) dirty.positions.add(k);
      }
      dirty.quotes.clear();
      for (const sym of dirty.greeks) {
        const keys = streamerIndex.get(sym);
        if (keys) for (const k of keys) dirty.positions.add(k);
      }
      dirty.greeks.clear();
      for (const key of dirty.positions) {
        const i = key.indexOf('|');
        const acct = S.accounts.get(key.slice(0, i));
        const p = acct && acct.positions.get(key.slice(i + 1));
        if (!p) continue;
        renderPosition(acct, p);
        dirty.totals.add(acct.number);
      }
      dirty.positions.clear();
      for (const n of dirty.balances) {
        const acct = S.accounts.get(n);
        if (acct) renderBalance(acct);
      }
      dirty.balances.clear();
      for (const n of dirty.totals) {
        const acct = S.accounts.get(n);
        if (acct) renderTotals(acct);
      }
      dirty.totals.clear();
      for (const id of dirty.orders) renderOrder(id);
      dirty.orders.clear();
      if (ordersEmptyEl) ordersEmptyEl.hidden = S.orders.size > 0;
      if (dirty.links.size) sweep = true;
      for (const id of dirty.links) renderLink(id);
      dirty.links.clear();
      if (dirty.simulated) {
        dirty.simulated = false;
        renderSimulated();
      }
      setPositionAttr();
      // link states move every account's freshness; otherwise the pill and the age suffice
      if (sweep) renderFreshness();
      else renderPill();
    } finally {
      flashEnabled = false;
    }
  }

  // ------------------------------------------------------------------ connection

  function setConnState(state) {
    conn.state = state;
    if (connEl) {
      if (connEl.textContent !== state) connEl.textContent = state;
      connEl.setAttribute('data-state', state);
    }
    document.body.setAttribute('data-conn', state);
  }

  function wsUrl() {
    const p = cfg.wsPath;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const base = /^wss?:\/\//i.test(p) ? p : `${proto}//${location.host}${p.startsWith('/') ? '' : '/'}${p}`;
    // Resume after the last account frame we applied (`<epoch>:<seq>`); the server replays
    // what we missed, or sends a fresh snapshot when it cannot. Without a position (another
    // epoch, 4409, a page rendered before the stream answered) we ask for a snapshot.
    const pos = resumePosition();
    return pos ? `${base}${base.includes('?') ? '&' : '?'}since=${encodeURIComponent(pos)}` : base;
  }

  /** The position to resume from, or null for a fresh snapshot. */
  function resumePosition() {
    return S.canResume ? formatPosition(S.epoch, S.seq) : null;
  }

  function send(msg) {
    const ws = conn.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(JSON.stringify(msg));
      return true;
    } catch (e) {
      return false;
    }
  }

  function sendSymbols(type, symbols) {
    const per = Math.max(1, num(S.limits.max_symbols_per_message) || 50);
    for (let i = 0; i < symbols.length; i += per) send({ type, symbols: symbols.slice(i, i + per) });
  }

  function connect() {
    clearTimeout(conn.reconnectTimer);
    conn.reconnectTimer = null;
    if (conn.stopped || conn.ws || cfg.transport === 'sse' || cfg.transport === 'poll') return;
    let ws;
    const url = wsUrl();
    try {
      ws = new WebSocket(url);
    } catch (e) {
      socketEnded(false, 0, 'cannot open socket');
      return;
    }
    conn.ws = ws;
    conn.connects++;
    conn.socketUrl = url;
    conn.gotSnapshot = false;
    if (!conn.polling) setConnState(conn.everLive || conn.failures ? 'reconnecting' : 'connecting');
    conn.connectTimer = setTimeout(() => {
      if (conn.ws === ws && ws.readyState !== WebSocket.OPEN) dropSocket('connect timeout', false);
    }, CONNECT_TIMEOUT_MS);
    ws.onopen = () => {
      if (conn.ws !== ws) return;
      clearTimeout(conn.connectTimer);
      conn.lastSocketFrameAt = Date.now();
      clearInterval(conn.pingTimer);
      conn.pingTimer = setInterval(() => {
        if (conn.ws !== ws) return;
        const id = ++conn.pingId;
        conn.pings.set(String(id), Date.now());
        if (conn.pings.size > 20) conn.pings.delete(conn.pings.keys().next().value);
        send({ type: 'ping', id });
      }, PING_EVERY_MS);
    };
    ws.onmessage = (ev) => {
      if (conn.ws !== ws) return;
      conn.lastSocketFrameAt = Date.now();
      let frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (!frame || typeof frame !== 'object') return;
      applyFrame(frame);
      if (conn.ws !== ws) return; // the frame made us drop this socket (a gap)
      if (frame.type === 'hello') {
        // The user's watchlist and positions stream without asking; this tab only
        // (re)subscribes the extra symbols it shows itself.
        if (S.extraSymbols.size) sendSymbols('subscribe', Array.from(S.extraSymbols));
      } else if (frame.type === 'snapshot' || frame.type === 'resumed') {
        markLive(ws);
      }
    };
    ws.onerror = () => { /* a close event follows */ };
    ws.onclose = (ev) => {
      if (conn.ws !== ws) return;
      conn.lastClose = { code: ev.code, reason: ev.reason };
      const wasLive = conn.gotSnapshot;
      cleanupSocket();
      const policy = closePolicy(ev.code);
      if (policy.login) {
        goToLogin();
        return;
      }
      if (!policy.resume) S.canResume = false; // 4409: a fresh snapshot
      socketEnded(wasLive, ev.code, `closed ${ev.code}${ev.reason ? ` (${ev.reason})` : ''}`, policy.immediate);
    };
  }

  function markLive(ws) {
    conn.gotSnapshot = true;
    conn.everLive = true;
    conn.failures = 0;
    stopPolling();
    setConnState('live');
    clearTimeout(conn.stableTimer);
    conn.stableTimer = setTimeout(() => {
      if (conn.ws === ws) conn.attempt = 0;
    }, STABLE_AFTER_MS);
  }

  function cleanupSocket() {
    const ws = conn.ws;
    conn.ws = null;
    clearTimeout(conn.connectTimer);
    clearTimeout(conn.stableTimer);
    clearInterval(conn.pingTimer);
    conn.pings.clear();
    if (ws) {
      ws.onopen = null;
      ws.onmessage = null;
      ws.onerror = null;
      ws.onclose = null;
    }
    return ws;
  }

  /** Abandon the current socket at once (dead, gap, timeout) and schedule the next one. */
  function dropSocket(reason, immediate) {
    const wasLive = conn.gotSnapshot;
    const ws = cleanupSocket();
    if (ws) {
      try { ws.close(4000, String(reason).slice(0, 100)); } catch (e) { /* already closing */ }
      socketEnded(wasLive, 0, reason, immediate);
    } else {
      // no socket (waiting for a retry, or polling): retry now if asked to
      conn.lastReason = reason;
      if (immediate && !conn.stopped) {
        clearTimeout(conn.reconnectTimer);
        conn.reconnects++;
        conn.lastRetry = { code: 0, delay: 0, since: resumePosition() };
        conn.reconnectTimer = setTimeout(connect, 0);
      }
      if (!conn.polling) setConnState(navigator.onLine === false ? 'offline' : 'reconnecting');
    }
  }

  function socketEnded(wasLive, code, reason, immediate) {
    conn.gotSnapshot = false;
    conn.lastReason = reason;
    if (!wasLive) conn.failures++;
    if (conn.failures >= FAILS_BEFORE_POLLING && !conn.polling) startPolling();
    if (conn.stopped) return;
    if (!conn.polling) setConnState(navigator.onLine === false ? 'offline' : 'reconnecting');
    conn.reconnects++;
    let delay;
    const now = Date.now();
    if (immediate && now - conn.lastImmediate > IMMEDIATE_COOLDOWN_MS) {
      delay = 0;
      conn.lastImmediate = now;
    } else {
      delay = backoffDelay(conn.attempt);
      conn.attempt++;
    }
    clearTimeout(conn.reconnectTimer);
    conn.reconnectTimer = setTimeout(connect, delay);
    conn.nextRetryAt = now + delay;
    conn.lastRetry = { code, delay, since: resumePosition() };
  }

  /** Frames are missing (`keepPosition`: reconnect from our position, the server replays
   *  them or sends a snapshot) or not ours (another epoch: a fresh snapshot). */
  function resync(reason, keepPosition) {
    if (!keepPosition) S.canResume = false;
    S.awaitingSnapshot = true;
    S.pending = [];
    if (conn.es) startSse();
    else if (conn.polling) pollNow();
    dropSocket(reason, true);
  }

  function goToLogin() {
    conn.stopped = true;
    stopPolling();
    clearTimeout(conn.reconnectTimer);
    setConnState('offline');
    const next = location.pathname + location.search;
    const sep = cfg.loginUrl.includes('?') ? '&' : '?';
    location.assign(`${cfg.loginUrl}${sep}next=${encodeURIComponent(next)}`);
  }

  // ------------------------------------------------------------------ polling fallback

  function startPolling() {
    if (conn.polling) return;
    conn.polling = true;
    if (!conn.sseBroken && cfg.transport !== 'poll' && typeof window.EventSource === 'function') {
      startSse();
      return;
    }
    setConnState('polling');
    poll();
  }

  function sseUrl() {
    const params = new URLSearchParams();
    // the server streams the user's watchlist by default; name symbols only for extras
    if (S.extraSymbols.size) params.set('symbols', [...S.watchlist.symbols, ...S.extraSymbols].join(','));
    const pos = resumePosition();
    if (pos) params.set('since', pos);
    const q = params.toString();
    return q ? `${cfg.eventsUrl}?${q}` : cfg.eventsUrl;
  }

  /** The SSE fallback: the same frames one way; EventSource reconnects by itself and
   *  resumes with Last-Event-ID (account frames carry `<epoch>:<seq>` as the event id). */
  function startSse() {
    stopSse();
    clearTimeout(conn.sseTimer);
    let es;
    try {
      es = new EventSource(sseUrl(), { withCredentials: true });
    } catch (e) {
      sseFailed();
      return;
    }
    conn.es = es;
    let live = false;
    es.onmessage = (ev) => {
      if (conn.es !== es) return;
      let frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      if (!frame || typeof frame !== 'object') return;
      applyFrame(frame);
      if (frame.type === 'snapshot' || frame.type === 'resumed') {
        live = true;
        conn.sseAttempt = 0;
        clearTimeout(conn.pollTimer);
        setConnState('sse');
      }
    };
    es.addEventListener('close', (ev) => {
      if (conn.es !== es) return;
      let code = 0;
      try { code = JSON.parse(ev.data).code; } catch (e) { /* no code */ }
      conn.lastClose = { code, reason: 'sse' };
      const policy = closePolicy(code);
      if (policy.login) { goToLogin(); return; }
      if (!policy.resume) S.canResume = false; // 4409: a new snapshot
      stopSse();
      // a fresh stream: resumed (1012, 4408), a new snapshot (4409), later (1013, …)
      const delay = policy.immediate ? 0 : backoffDelay(conn.sseAttempt++);
      conn.lastRetry = { code, delay, since: resumePosition() };
      if (!policy.immediate) setConnState('reconnecting');
      conn.sseTimer = setTimeout(() => { if (conn.polling && !conn.stopped && !conn.es) startSse(); }, delay);
    });
    es.onerror = () => {
      if (conn.es !== es) return;
      if (!live) { sseFailed(); return; }
      setConnState('reconnecting'); // EventSource retries by itself (server said retry: 3000)
      if (es.readyState === EventSource.CLOSED) startSse();
    };
  }

  function sseFailed() {
    stopSse();
    conn.sseBroken = true;
    if (conn.polling) {
      setConnState('polling');
      poll();
    }
  }

  function stopSse() {
    const es = conn.es;
    conn.es = null;
    clearTimeout(conn.sseTimer);
    if (es) {
      es.onmessage = null;
      es.onerror = null;
      try { es.close(); } catch (e) { /* ignore */ }
    }
  }

  function stopPolling() {
    stopSse();
    conn.polling = false;
    clearTimeout(conn.pollTimer);
    conn.pollTimer = null;
    if (conn.pollAbort) conn.pollAbort.abort();
    conn.pollAbort = null;
  }

  function pollNow() {
    if (!conn.polling || conn.pollAbort) return;
    clearTimeout(conn.pollTimer);
    poll();
  }

  async function poll() {
    if (!conn.polling || conn.es) return;
    const abort = new AbortController();
    conn.pollAbort = abort;
    const timer = setTimeout(() => abort.abort(), POLL_TIMEOUT_MS);
    try {
      const sentAt = Date.now();
      const r = await fetch(cfg.snapshotUrl, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { Accept: 'application/json' },
        signal: abort.signal,
      });
      if (r.status === 401 || r.status === 403) {
        goToLogin();
        return;
      }
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const snap = await r.json();
      if (!conn.polling || conn.pollAbort !== abort) return;
      const now = Date.now();
      const t = num(snap && snap.t);
      if (t !== null) S.skew = t - (sentAt + (now - sentAt) / 2);
      S.lastFrameAt = now;
      applySnapshot(snap, 'poll');
      setConnState('polling');
      scheduleRender();
    } catch (e) {
      if (conn.polling && conn.pollAbort === abort) setConnState('offline');
    } finally {
      clearTimeout(timer);
      if (conn.pollAbort === abort) conn.pollAbort = null;
      if (conn.polling && !conn.stopped) {
        clearTimeout(conn.pollTimer);
        conn.pollTimer = setTimeout(poll, POLL_EVERY_MS);
      }
    }
  }

  // ------------------------------------------------------------------ periodic tick

  /** Every second: values age without any frame arriving (quotes go stale, "as of"
   *  holds), and a socket that went silent is dead. */
  function tick() {
    const now = Date.now();
    renderFreshness();
    // liveness watchdog: a socket that sent nothing at all for 45 s is dead
    const ws = conn.ws;
    if (ws && ws.readyState === WebSocket.OPEN && now - conn.lastSocketFrameAt > DEAD_AFTER_MS) {
      dropSocket('no frame for 45 s', false);
    }
  }

  // ------------------------------------------------------------------ watchlist editing

  function csrfToken() {
    for (const part of document.cookie.split(';')) {
      const [k, ...rest] = part.trim().split('=');
      if (k === 'csrftoken') return decodeURIComponent(rest.join('='));
    }
    const input = form && form.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : '';
  }

  let saving = 0;
  /** Edit the user's watchlist on the server (`{"add": [...]}` or `{"remove": [...]}`);
   *  every tab of the user, this one included, gets the new list as a `watchlist` frame. The
   *  answer carries it too, so this tab shows it at once. */
  async function editWatchlist(change) {
    saving++;
    if (form) form.setAttribute('aria-busy', 'true');
    try {
      let r;
      try {
        r = await fetch(cfg.watchlistUrl, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
          body: JSON.stringify(change),
        });
      } catch (e) {
        showMessage('Watchlist not saved: the server cannot be reached.');
        return false;
      }
      let body = null;
      try { body = await r.json(); } catch (e) { body = null; }
      if (!r.ok) {
        const why = body && body.error ? (typeof body.error === 'string' ? body.error : JSON.stringify(body.error)) : `HTTP ${r.status}`;
        showMessage(`Watchlist not saved: ${why}`);
        return false;
      }
      if (body && Array.isArray(body.symbols)) adoptWatchlist(body, false);
      scheduleRender();
      return true;
    } finally {
      saving--;
      if (form && !saving) form.removeAttribute('aria-busy');
    }
  }

  if (form) {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const input = form.querySelector('input[name="symbol"]');
      const raw = input ? input.value : '';
      if (!raw.trim()) return;
      const sym = normalizeSymbol(raw);
      if (!sym) {
        showMessage(`"${raw.trim().slice(0, 40)}" is not a valid symbol (examples: AAPL, BRK/B, /ESZ26, .SPY250221C590).`);
        return;
      }
      if (S.watchlist.symbols.includes(sym)) {
        showMessage(`${sym} is already on the watchlist.`, 'info');
        if (input) input.value = '';
        return;
      }
      const ok = await editWatchlist({ add: [sym] });
      if (ok && input && normalizeSymbol(input.value) === sym) input.value = '';
    });
  }

  if (watchRowsEl) {
    watchRowsEl.addEventListener('click', (ev) => {
      const btn = ev.target instanceof Element ? ev.target.closest('[data-remove]') : null;
      if (!btn) return;
      editWatchlist({ remove: [btn.getAttribute('data-remove')] });
    });
  }

  // ------------------------------------------------------------------ lifecycle

  window.addEventListener('online', () => {
    if (conn.stopped) return;
    conn.attempt = 0;
    if (!conn.ws) connect();
    if (conn.polling) pollNow();
  });
  window.addEventListener('offline', () => {
    if (!conn.ws || conn.ws.readyState !== WebSocket.OPEN) setConnState('offline');
  });
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && !conn.ws && !conn.stopped) connect();
  });
  window.addEventListener('pagehide', () => {
    conn.stopped = true;
    clearTimeout(conn.reconnectTimer);
    stopPolling();
    const ws = cleanupSocket();
    if (ws) try { ws.close(1000, 'page closed'); } catch (e) { /* ignore */ }
  });
  window.addEventListener('pageshow', (ev) => {
    if (!ev.persisted) return;
    conn.stopped = false;
    conn.attempt = 0;
    connect();
  });

  // ------------------------------------------------------------------ start

  function readJSON(id) {
    const node = document.getElementById(id);
    if (!node) return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  adoptServerDom();
  const initial = readJSON('snapshot');
  if (initial) applySnapshot(initial, 'page');
  // the user's watchlist: the snapshot's `{symbols, version}`, else the page's plain list
  if (!initial || initial.watchlist === undefined) adoptWatchlist(readJSON('watchlist'), true);
  dirty.structure = true;
  dirty.simulated = true;
  render(false);
  setConnState('connecting');
  tick();
  setInterval(tick, TICK_MS);

  window.streamdesk = {
    /** Feed one contract frame (object or JSON text) as if it came from the socket. */
    applyFrame(frame) {
      applyFrame(frame);
    },
    /** A plain copy of the client state, for tests and debugging. */
    state() {
      const accounts = Array.from(S.accounts.values()).map((a) => ({ ...a, balance: { ...a.balance }, positions: Array.from(a.positions.values()).map((p) => ({ ...p })) }));
      return JSON.parse(JSON.stringify({
        connection: conn.state,
        epoch: S.epoch,
        seq: S.seq,
        position: formatPosition(S.epoch, S.seq),
        canResume: S.canResume,
        simulated: isSimulated(),
        awaitingSnapshot: S.awaitingSnapshot,
        accounts,
        quotes: Object.fromEntries(S.quotes),
        greeks: Object.fromEntries(S.greeks),
        orders: orderedOrderIds().map((id) => S.orders.get(id)),
        links: Array.from(S.links.values()),
        watchlist: S.watchlist,
        extraSymbols: Array.from(S.extraSymbols),
        subscriptions: S.subscriptions,
        newestQuoteT: S.newestQuoteT,
        staleAfterMs: S.staleAfterMs,
        dataState: dataStateEl ? dataStateEl.getAttribute('data-state') : null,
        lastFrameAt: S.lastFrameAt,
        skew: S.skew,
        reconnects: conn.reconnects,
        connects: conn.connects,
        socketUrl: conn.socketUrl,
        lastRetry: conn.lastRetry,
        failures: conn.failures,
        attempt: conn.attempt,
        polling: conn.polling,
        sse: !!conn.es,
        lastReason: conn.lastReason,
        lastClose: conn.lastClose,
      }));
    },
    /** Apply pending DOM updates now instead of at the next animation frame. */
    flush() {
      render(true);
    },
    /** Stream symbols this tab shows beyond the user's watchlist and positions (e.g. an
     *  option chain); they are re-sent on every new socket. Returns the valid ones. */
    subscribe(symbols) {
      const valid = (Array.isArray(symbols) ? symbols : [symbols]).map(normalizeSymbol).filter(Boolean);
      const added = valid.filter((s) => !S.extraSymbols.has(s));
      for (const s of added) S.extraSymbols.add(s);
      if (added.length) {
        sendSymbols('subscribe', added);
        if (conn.es) startSse();
      }
      return valid;
    },
    /** Stop streaming extra symbols this tab subscribed. */
    unsubscribe(symbols) {
      const gone = (Array.isArray(symbols) ? symbols : [symbols]).map(normalizeSymbol).filter((s) => s && S.extraSymbols.delete(s));
      if (gone.length) {
        sendSymbols('unsubscribe', gone);
        if (conn.es) startSse();
      }
      return gone;
    },
  };

  if (cfg.transport === 'sse' || cfg.transport === 'poll') startPolling();
  else connect();
})();
