/*
 * The wire rules of docs/streaming-contract.md as constants and pure functions: no DOM, no
 * timers, no globals. The other modules of static/js/stream/ apply them to the page;
 * tests/js/*.test.mjs runs them under `node --test`.
 */
import { contractSymbol } from './instruments.js';

// ------------------------------------------------------------------ frames

/** A frame from its JSON text: an object with a string `type`, else null. */
export function parseFrame(text) {
  let frame;
  try { frame = JSON.parse(text); } catch (e) { return null; }
  return frame && typeof frame === 'object' && typeof frame.type === 'string' ? frame : null;
}

/** Account frames: `epoch` + `seq`, applied in order, never conflated or dropped
 *  (`alert`: a price alert triggered; deduplicated by `alert.id`; `limit`: a portfolio
 *  limit crossed, deduplicated by `limit.id`). */
export const ACCOUNT_FRAMES = new Set(['balance', 'positions', 'position', 'order', 'alert', 'limit']);
/** Alert triggers the page keeps (newest first), as the snapshot's `alert_triggers`. */
export const MAX_ALERT_TRIGGERS = 50;
/** Portfolio-limit breaches the page keeps (newest first), as the snapshot's `limit_breaches`. */
export const MAX_LIMIT_BREACHES = 50;

/** Order statuses after which an order cannot change any more. */
export const TERMINAL_ORDER = new Set(['Filled', 'Cancelled', 'Rejected', 'Expired', 'Removed', 'Partially Removed']);

// ------------------------------------------------------------------ limits and timings (client side)

/** What the client assumes until `hello.limits` says otherwise. */
export const DEFAULT_LIMITS = { max_symbols: 400, max_symbols_per_message: 50 };
export const MAX_PENDING_FRAMES = 2000; // account frames held while waiting for a snapshot

export const PING_EVERY_MS = 20000;
export const DEAD_AFTER_MS = 45000; // a socket silent this long is dead
export const CONNECT_TIMEOUT_MS = 15000;
export const STABLE_AFTER_MS = 10000; // live this long: the backoff starts over
export const FAILS_BEFORE_FALLBACK = 3; // sockets in a row that never reached a snapshot
export const IMMEDIATE_COOLDOWN_MS = 5000; // "at once" at most once per 5 s, then backoff
export const POLL_EVERY_MS = 2000;
export const POLL_TIMEOUT_MS = 8000;
export const SILENT_PAGE_MS = 10000; // nothing at all for this long: the page is stale
export const FRESHNESS_EVERY_MS = 1000; // values age without frames: re-checked this often

// ------------------------------------------------------------------ values

/** A JSON number (or numeric string) as a number; null/absent/NaN as null (never 0). */
export function num(v) {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

/** A time as epoch ms: ms or seconds numbers, numeric strings, ISO strings; else null. */
export function timeMs(v) {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return v < 1e11 ? v * 1000 : v;
  const n = Number(v);
  if (Number.isFinite(n)) return n < 1e11 ? n * 1000 : n;
  const p = Date.parse(v);
  return Number.isFinite(p) ? p : null;
}

// ------------------------------------------------------------------ positions (epoch:seq)

const EPOCH_RE = /^[A-Za-z0-9]{1,32}$/;

/** A valid epoch (`[A-Za-z0-9]{1,32}`) or null. */
export function epochOf(v) {
  return typeof v === 'string' && EPOCH_RE.test(v) ? v : null;
}

/** `<epoch>:<seq>` → {epoch, seq}; anything malformed → null. */
export function parsePosition(text) {
  if (typeof text !== 'string') return null;
  const i = text.lastIndexOf(':');
  if (i <= 0) return null;
  const epoch = epochOf(text.slice(0, i));
  const seqText = text.slice(i + 1);
  if (epoch === null || !/^[0-9]{1,15}$/.test(seqText)) return null;
  return { epoch, seq: Number(seqText) };
}

/** {epoch, seq} → `<epoch>:<seq>`, or null when there is no valid position to resume from. */
export function formatPosition(epoch, seq) {
  const e = epochOf(epoch);
  if (e === null || !Number.isInteger(seq) || seq < 0) return null;
  return `${e}:${seq}`;
}

/**
 * What to do with an account frame, given the position the page holds:
 * - `apply`: the next frame of our epoch;
 * - `duplicate`: a seq we already have (ignore: idempotent);
 * - `gap`: frames are missing: reconnect (with our position: the server replays or snapshots);
 * - `epoch`: another epoch than our snapshot's: do not apply, take a fresh snapshot;
 * - `invalid`: no seq at all (not a contract account frame): ignore.
 * A frame without an epoch (a server older than epochs) is taken as ours.
 */
export function accountFrameVerdict(pos, frame) {
  const seq = num(frame && frame.seq);
  if (seq === null) return 'invalid';
  const fe = frame.epoch;
  if (fe !== undefined && fe !== null && fe !== pos.epoch) return 'epoch';
  if (seq <= pos.seq) return 'duplicate';
  if (seq > pos.seq + 1) return 'gap';
  return 'apply';
}

// ------------------------------------------------------------------ close codes and backoff

/** The close codes of the contract ("Close codes"). */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  SERVER_ERROR: 1011,
  RESTARTING: 1012,
  TRY_LATER: 4503, // RFC 6455's 1013, which daphne cannot send
  NOT_LOGGED_IN: 4401,
  TOO_SLOW: 4408,
  RESYNC: 4409,
  TOKEN_RATE_LIMITED: 4429, // API tokens only (scripts): a browser never gets it
};

/** The code the client closes a socket with when it abandons it (dead, gap, timeout). */
export const CLIENT_DROP = 4000;

/**
 * How the client answers a close code (contract "Close codes"):
 * `login` go to the login page; otherwise reconnect, `resume` with the position or not,
 * `immediate` at once or after backoff.
 */
export function closePolicy(code) {
  switch (code) {
    case CLOSE.NOT_LOGGED_IN:
      return { login: true, resume: false, immediate: false };
    case CLOSE.RESTARTING: // server restarting / layer reconnected: events may be missed
    case CLOSE.TOO_SLOW: // too slow for account events: the server replays what we missed
      return { login: false, resume: true, immediate: true };
    case CLOSE.RESYNC: // a gap the server cannot fill: a fresh snapshot
      return { login: false, resume: false, immediate: true };
    case CLOSE.TRY_LATER: // try again later: never at once
    case CLOSE.TOKEN_RATE_LIMITED: // too many connects with one API token: back off
    default: // 1000, 1001, 1006, 1011, 1013 (a proxy's), …
      return { login: false, resume: true, immediate: false };
  }
}

export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 30000;
export const BACKOFF_JITTER = 0.3;

/** 0.5 s doubling to 30 s, ±30 % jitter (`random` in [0, 1)). */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(Math.max(attempt, 0), 16));
  return Math.round(base * (1 + (random() * 2 - 1) * BACKOFF_JITTER));
}

/** When the next socket opens: at once for an immediate close code (at most once per
 *  IMMEDIATE_COOLDOWN_MS), else after the backoff of `attempt`, which then grows. */
export function nextRetry({ attempt, lastImmediate }, immediate, now, random) {
  if (immediate && now - lastImmediate > IMMEDIATE_COOLDOWN_MS) return { delay: 0, attempt, lastImmediate: now };
  return { delay: backoffDelay(attempt, random), attempt: attempt + 1, lastImmediate };
}

// ------------------------------------------------------------------ URLs

/** The socket's base URL for a path (or a full ws(s):// URL) on the page's location. */
export function socketBase(path, location) {
  if (/^wss?:\/\//i.test(path)) return path;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${path.startsWith('/') ? '' : '/'}${path}`;
}

/** A URL with `?since=<position>` when there is a position to resume from. */
export function withSince(url, position) {
  return position ? `${url}${url.includes('?') ? '&' : '?'}since=${encodeURIComponent(position)}` : url;
}

/** The SSE stream's URL: its symbols (null: the server's default, the user's watchlist)
 *  and the position to resume from. */
export function eventsUrl(base, symbols, position) {
  const params = new URLSearchParams();
  if (symbols) params.set('symbols', symbols.join(','));
  if (position) params.set('since', position);
  const q = params.toString();
  return q ? `${base}?${q}` : base;
}

/**
 * The polling fallback's URL: the page's own `tab` id makes each poll hold the user's
 * stream until the next, with the symbols it shows beyond the watchlist (the market
 * strip, a chain's strikes) subscribed (docs/streaming-contract.md "Fallback: polling").
 */
export function snapshotUrl(base, tab, extraSymbols) {
  const params = new URLSearchParams({ tab });
  if (extraSymbols && extraSymbols.length) params.set('symbols', extraSymbols.join(','));
  return `${base}?${params}`;
}

/** A page's random id for its polling subscription (8–64 of A-Z a-z 0-9 - _). */
export function newTabId(random) {
  let id = '';
  while (id.length < 16) id += Math.floor(random() * 36).toString(36);
  return `p-${id}`;
}

// ------------------------------------------------------------------ orders

/** Orders are keyed by (link, broker id): ids are unique only within one broker. */
export function orderKey(id, link) {
  return link === undefined || link === null ? String(id) : `${link}:${id}`;
}

/**
 * The stored copy of an order frame's order: the frame carries the order's whole state,
 * fills included, so it replaces what we had (fill lists are never merged).
 */
export function orderCopy(order) {
  return {
    ...order,
    legs: Array.isArray(order.legs)
      ? order.legs.map((l) => ({ ...l, fills: Array.isArray(l && l.fills) ? l.fills.map((f) => ({ ...f })) : [] }))
      : [],
  };
}

// ------------------------------------------------------------------ watchlist

/** `{symbols, version}` from a snapshot's or a frame's watchlist (or a bare list); else null. */
export function watchlistOf(v) {
  if (Array.isArray(v)) return { symbols: v.filter((s) => typeof s === 'string'), version: null };
  if (!v || typeof v !== 'object' || !Array.isArray(v.symbols)) return null;
  return { symbols: v.symbols.filter((s) => typeof s === 'string'), version: num(v.version) };
}

/**
 * Whether `next` replaces `current`: a newer version does (`orEqual`: the same version too,
 * for a snapshot, which is the authority); a list without a version always does.
 */
export function watchlistReplaces(current, next, orEqual = false) {
  if (!next) return false;
  if (!current || next.version === null || current.version === null) return true;
  return orEqual ? next.version >= current.version : next.version > current.version;
}

// ------------------------------------------------------------------ symbols

// The contract's symbol rules ("Instruments", "Validation") are instruments.js's, the
// browser's copy of streaming/instruments (tests/fixtures/symbols.json holds both to the
// same cases). ASCII only: `[0-9]`, never `\d`.
const OPTION_RE = /^\.([A-Z][A-Z0-9]{0,5})([0-9]{2})([0-9]{2})([0-9]{2})([CP])([0-9]+(?:\.[0-9]+)?)$/;

/** The contract symbol of any spelling of an instrument (`BTC/USD` → `BTC/USD:CXTALP`,
 *  `/ESZ6` → `/ESZ26:XCME`, an OCC option → its streamer symbol), or null: not a symbol. */
export function normalizeSymbol(raw) {
  return contractSymbol(typeof raw === 'string' ? raw : String(raw ?? ''));
}

/** A streamer option symbol's parts (`.SPY260320P570` → {root, yy, mm, dd, right, strike}); else null. */
export function optionParts(symbol) {
  const m = OPTION_RE.exec(String(symbol || ''));
  if (!m) return null;
  return { root: m[1], yy: m[2], mm: Number(m[3]), dd: m[4], right: m[5], strike: m[6] };
}

// ------------------------------------------------------------------ staleness

export const DEFAULT_STALE_QUOTES_MS = 10000;

/** Age of a quote (ms, never negative) at server time `now`; null without a time. */
export function quoteAge(q, now) {
  const t = q ? timeMs(q.t) : null;
  return t === null ? null : Math.max(0, now - t);
}

/**
 * How the page judges quotes and greeks (contract "Staleness"): the feed the user's quotes
 * come from now (`src` of the quote source's `quote_feed`), whether that link's market
 * data is live, the coin feed's (`coins`: `{src, live, link, label}` of the link whose
 * `coin_feed` is true, null without one), and the age rule for values that name no feed
 * (`staleMs`). `{staleMs, src, live, link, label, broker, coins}`; `src` undefined: no
 * link says (an older server).
 */
export function feedRule(links, staleMs) {
  const rule = { staleMs, src: undefined, live: false, link: null, label: '', broker: '', coins: null };
  for (const l of links || []) {
    if (l && l.coin_feed && l.quote_feed) {
      rule.coins = { src: l.quote_feed, live: kindsOf(l).quotes.state === 'live', link: String(l.id), label: String(l.label || l.broker || `link ${l.id}`) };
    }
    if (!l || !l.quote_source) continue;
    rule.src = l.quote_feed === undefined ? undefined : l.quote_feed;
    rule.live = kindsOf(l).quotes.state === 'live';
    rule.link = String(l.id);
    rule.label = String(l.label || l.broker || `link ${l.id}`);
    rule.broker = String(l.broker || rule.label);
  }
  return rule;
}

/**
 * Whether a quote or greeks value is stale under `rule` (a `feedRule`, or a bare age
 * threshold in ms): a value that names its feed is live only while that is the current
 * feed and the feed is live, however old its `t` (a quiet symbol); one that names none is
 * stale when older than the threshold; no value at all is stale.
 */
export function quoteStale(q, now, rule) {
  return staleReason(q, now, rule) !== '';
}

/** Why a value is stale ("" when it is live): `no quote yet`, `older than 10 s`,
 *  `market data stale`, `from an earlier feed`. */
export function staleReason(q, now, rule) {
  if (!q) return 'no quote yet';
  const r = typeof rule === 'number' ? { staleMs: rule, src: undefined } : rule || { staleMs: DEFAULT_STALE_QUOTES_MS, src: undefined };
  if (q.src !== undefined && q.src !== null && r.coins && q.src === r.coins.src) {
    return r.coins.live ? '' : 'market data not live';
  }
  if (q.src !== undefined && q.src !== null && (r.src !== undefined || r.coins)) {
    if (q.src !== r.src) return 'from an earlier feed';
    return r.live ? '' : 'market data not live';
  }
  const age = quoteAge(q, now);
  if (age === null) return 'time unknown';
  return age > r.staleMs ? `older than ${Math.round(r.staleMs / 1000)} s` : '';
}

/** The newest `t` of the quotes that are not delayed (delayed ones never count as fresh). */
export function newestLiveQuoteT(quotes) {
  let newest = null;
  for (const q of quotes) {
    if (!q || q.delayed) continue;
    const t = timeMs(q.t);
    if (t !== null && (newest === null || t > newest)) newest = t;
  }
  return newest;
}

export const KINDS = ['quotes', 'account'];

/**
 * A link's state per data kind: `{quotes: {state, reason, since, last_ok, stale_after_ms}, account: …}`
 * (`stale_after_ms`: how long the kind's data may stop before the server shows it stale, as
 * it judges now; null when unknown). A status without `kinds` (an older server) gives its
 * overall state to both kinds.
 */
export function kindsOf(link) {
  const out = {};
  const kinds = link && link.kinds && typeof link.kinds === 'object' ? link.kinds : null;
  for (const k of KINDS) {
    const v = kinds ? kinds[k] : null;
    if (v && typeof v === 'object') {
      const staleAfter = num(v.stale_after_ms);
      out[k] = { state: String(v.state || 'stopped'), reason: v.reason ? String(v.reason) : '', since: timeMs(v.since), last_ok: timeMs(v.last_ok), stale_after_ms: staleAfter !== null && staleAfter > 0 ? staleAfter : null };
    } else {
      out[k] = { state: String((link && link.state) || 'stopped'), reason: (link && link.reason) ? String(link.reason) : '', since: timeMs(link && link.since), last_ok: null, stale_after_ms: null };
    }
  }
  return out;
}

/**
 * Whether the balances and positions of an account on this link are current: only while
 * the link's `account` kind is `live`. Otherwise they are "as of" `last_ok` (null: never).
 */
export function accountFreshness(link) {
  if (!link) return { live: true, state: 'unknown', asOf: null, reason: '' };
  const k = kindsOf(link).account;
  return { live: k.state === 'live', state: k.state, asOf: k.last_ok, reason: k.reason };
}

/**
 * The data pill: `stale` when the page heard nothing for `silentAfterMs`, some link's data
 * kind in use is not live, or a value in view is stale (`staleInView`: the rows agree with
 * the pill; with a server before feeds: the newest non-delayed quote is too old);
 * else `delayed` when market data in view comes from a delayed source; else `fresh`.
 * Returns {state, why: [reasons]}.
 */
export function dataState({ links, newestQuoteT, anyDelayedQuote, staleInView, now, staleMs, silentMs, silentAfterMs }) {
  const stale = [];
  if (silentMs !== undefined && silentMs !== null && silentMs > silentAfterMs) stale.push(`no data for ${Math.round(silentMs / 1000)} s`);
  let delayed = !!anyDelayedQuote;
  for (const l of links || []) {
    const kinds = kindsOf(l);
    const name = String(l.label || l.broker || `link ${l.id}`);
    for (const k of KINDS) {
      const s = kinds[k].state;
      if (s === 'idle' || s === 'live') continue;
      stale.push(`${name}: ${k} ${s}${kinds[k].reason ? ` (${kinds[k].reason})` : ''}`);
    }
    if (l.delayed && (l.quote_source || kinds.quotes.state !== 'idle')) delayed = true;
  }
  if (staleInView) stale.push(`${staleInView} value${staleInView === 1 ? '' : 's'} in view not live`);
  const feeds = (links || []).some((l) => l && l.quote_source && l.quote_feed !== undefined);
  if (!feeds && newestQuoteT !== null && newestQuoteT !== undefined && now - newestQuoteT > staleMs) {
    stale.push(`newest quote ${Math.round((now - newestQuoteT) / 1000)} s old`); // a server before feeds
  }
  if (stale.length) return { state: 'stale', why: stale };
  if (delayed) return { state: 'delayed', why: ['market data is delayed'] };
  return { state: 'fresh', why: [] };
}
