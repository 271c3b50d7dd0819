/*
 * What the dashboard shows, as pure functions: numbers, times and ages as text, the mark a
 * position is valued at, its P&L and delta, and why a value is stale. No DOM, no timers:
 * the clock is a parameter. A value nobody sent is `null` and shows "—", never 0.
 */
import { accountFreshness, num, quoteAge, staleReason } from './contract.js';
import { fromPosition as instrumentOf } from './instruments.js';
import { sameDay, zoned } from './times.js';

export const DASH = '—';

// ------------------------------------------------------------------ numbers and times

const formatters = new Map();
/** The places a quantity is shown to (streaming/order_terms.py QUANTITY_PLACES). */
export const QTY_PLACES = 9;

function nf(min, max, extra) {
  const key = `${min}|${max}|${extra || ''}`;
  let f = formatters.get(key);
  if (!f) {
    const opts = { minimumFractionDigits: min, maximumFractionDigits: max };
    if (extra === 'sign') opts.signDisplay = 'exceptZero';
    if (extra === 'compact') opts.notation = 'compact';
    f = new Intl.NumberFormat('en-US', opts);
    formatters.set(key, f);
  }
  return f;
}

// ------------------------------------------------------------------ times
// One rule for every time on the pages (times.js): the trader's zone, New York's unless they
// chose another, always named ("14:02:11 EST"). Re-exported for the modules that format here.
export { sameDay, setTimeZone, timeZone } from './times.js';

/** en-US text for each kind of value; `null` (and undefined) is "—". */
/** en-US with grouping, `digits` decimals, a sign when asked; "—" for null; never "-0.00". */
export function fmtNumber(v, digits = 2, sign = false) {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  const x = Math.abs(v) < 0.5 * 10 ** -digits ? 0 : v;
  const text = Math.abs(x).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  if (x < 0) return `-${text}`;
  return sign ? `+${text}` : text;
}

export const fmt = {
  money: (v) => (v == null ? DASH : nf(2, 2).format(v)),
  pnl: (v) => (v == null ? DASH : nf(2, 2, 'sign').format(v)),
  price: (v) => (v == null ? DASH : nf(2, Math.abs(v) < 10 ? 4 : 2).format(v)),
  change: (v) => (v == null ? DASH : nf(2, Math.abs(v) < 1 ? 4 : 2, 'sign').format(v)),
  /** A quantity as the broker holds it: every place it has, to Alpaca's 9 (a coin's 8 at
   *  tastytrade), so 2.61937 BTC is never shown as 2.6194. */
  qty: (v) => (v == null ? DASH : nf(0, QTY_PLACES).format(v)),
  /** A number of a limit or a total (2 places at most). */
  amount: (v) => (v == null ? DASH : nf(0, 2).format(v)),
  delta: (v) => (v == null ? DASH : nf(0, 1, 'sign').format(v)),
  /** A greek: never "-0.000" (a value that rounds to zero has no sign). */
  greek: (v, digits) => (v == null ? DASH : nf(digits, digits).format(Math.abs(v) < 0.5 * 10 ** -digits ? 0 : v)),
  pct: (v) => (v == null ? DASH : `${nf(1, 1).format(v * 100)}%`),
  volume: (v) => (v == null ? DASH : (Math.abs(v) < 100000 ? nf(0, 0).format(v) : nf(0, 1, 'compact').format(v))),
  /** Wall-clock time in the zone shown, labelled: "14:02:11 EST"; "" for null. */
  time: (ms) => (ms == null ? '' : zoned(ms, 'time')),
  /** "14:02 EST"; "" for null. */
  hm: (ms) => (ms == null ? '' : zoned(ms, 'hm')),
  /** The time on `now`'s day, else with its date: "14:02:11 EST", "Mar 3, 14:02:11 EST". */
  when: (ms, now) => (ms == null ? '' : zoned(ms, sameDay(ms, now) ? 'time' : 'day')),
  /** As `when`, to the minute: "14:02 EST", "Mar 3, 14:02 EST". */
  whenHm: (ms, now) => (ms == null ? '' : zoned(ms, sameDay(ms, now) ? 'hm' : 'day-hm')),
  /** Date and time with the year: "Mar 3, 2026, 14:02:11 EST" (a tooltip). */
  full: (ms) => (ms == null ? '' : zoned(ms, 'full')),
};

/** "0.4 s" below 10 s, then "12 s", "3 min", "2 h"; "—" for null. */
export function fmtAge(ms) {
  if (ms === null || ms === undefined) return DASH;
  if (ms < 10000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7200000) return `${Math.round(ms / 60000)} min`;
  return `${Math.round(ms / 3600000)} h`;
}

/** "as of 14:02:11 EST" (today, by the clock `now`), "as of Mar 3, 14:02:11 EST" (another day). */
export function asOfText(ms, now) {
  if (ms === null || ms === undefined) return 'not confirmed yet';
  return `as of ${fmt.when(ms, now)}`;
}

// ------------------------------------------------------------------ messages

const REJECTIONS = {
  invalid_symbol: 'not a valid symbol',
  limit_reached: 'symbol limit reached',
  user_limit_reached: 'your symbol limit is reached',
};

/** Why the server refused a symbol (`subscribed.rejected`), in words. */
export function rejectionText(symbol, reason) {
  return `${symbol}: ${REJECTIONS[reason] || reason}`;
}

/** An `error` frame, in words. */
export function errorText(frame) {
  return `Server refused a request${frame.ref ? ` (${frame.ref})` : ''}: ${frame.message || frame.code || 'error'}`;
}

// ------------------------------------------------------------------ positions

export function isOption(p) {
  return /option/i.test(String(p.instrument_type || '')) || String(p.streamer_symbol || '').startsWith('.');
}

/** What a trader reads for a position or an order's leg: its `display` (the server names
 *  each on arrival: `BTC/USD`, `/ES Dec 26 6000 C`, `SPY 15 Jan 27 590 C`), else its
 *  instrument's display name, else the broker's symbol as it came (a kind the app does not
 *  act on). */
export function displayName(p) {
  if (p && typeof p.display === 'string' && p.display) return p.display;
  const it = p ? instrumentOf(p) : null;
  return it ? it.display : String((p && p.symbol) ?? '');
}

/** A position's symbol cell: its display name over its kind (the broker's own symbol is
 *  the cell's title). */
export function symbolLabel(p) {
  return { main: displayName(p), sub: String(p.instrument_type || '') };
}

/** The live quote of a position (by streamer symbol), or undefined. */
const quoteOf = (p, quotes) => quotes.get(p.streamer_symbol || p.symbol);

/** The mark a position is valued at: the live quote's mid (or last), else the broker's. */
export function markOf(p, quotes) {
  const q = quoteOf(p, quotes);
  if (q) {
    const bid = num(q.bid);
    const ask = num(q.ask);
    if (bid !== null && ask !== null) return { mark: (bid + ask) / 2, live: true, quote: q };
    const last = num(q.last);
    if (last !== null) return { mark: last, live: true, quote: q };
  }
  return { mark: num(p.mark_price), live: false, quote: null };
}

/**
 * A position's values from the live mark (contract "Objects"): signed quantity,
 * open P&L = (mark − average_open_price) × quantity × multiplier × (±1),
 * day P&L = (mark − close_price) × … ; null wherever an input is missing.
 */
export function positionPnl(p, quotes) {
  const sign = p.direction === 'Short' ? -1 : 1;
  const qty = num(p.quantity);
  const mult = num(p.multiplier) ?? 1;
  const avg = num(p.average_open_price);
  const close = num(p.close_price);
  const { mark, live } = markOf(p, quotes);
  return {
    qty: qty === null ? null : qty * sign,
    avg,
    mark,
    live,
    open: mark !== null && avg !== null && qty !== null ? (mark - avg) * qty * mult * sign : null,
    day: mark !== null && close !== null && qty !== null ? (mark - close) * qty * mult * sign : null,
  };
}

/** Position delta: an option's delta × quantity × multiplier × (±1); a share is 1 delta. */
export function positionDelta(p, greeks) {
  const sign = p.direction === 'Short' ? -1 : 1;
  const qty = num(p.quantity);
  const mult = num(p.multiplier) ?? 1;
  if (isOption(p)) {
    const g = greeks.get(p.streamer_symbol || p.symbol);
    const delta = g ? num(g.delta) : null;
    return delta !== null && qty !== null ? delta * qty * mult * sign : null;
  }
  if (qty !== null && /equity|stock|etf/i.test(String(p.instrument_type || 'Equity'))) return qty * mult * sign;
  return null;
}

/**
 * An account's total open and day P&L: the sum over positions that have one, null when
 * no position has one (0 without positions); `missing` when some position has none.
 */
export function accountPnl(positions, quotes) {
  let open = 0;
  let day = 0;
  let openN = 0;
  let dayN = 0;
  let missing = false;
  let n = 0;
  for (const p of positions) {
    n++;
    const v = positionPnl(p, quotes);
    if (v.open !== null) { open += v.open; openN++; } else missing = true;
    if (v.day !== null) { day += v.day; dayN++; } else missing = true;
  }
  return { open: openN ? open : (n ? null : 0), day: dayN ? day : (n ? null : 0), missing };
}

// ------------------------------------------------------------------ freshness, in words

/** Freshness of a position's mark (and the P&L derived from it) at server time `now`,
 *  judged by `rule` (contract.feedRule, or an age threshold in ms). */
export function markView(p, quotes, now, rule) {
  const { mark, live, quote } = markOf(p, quotes);
  if (mark === null) return { stale: false, delayed: false, why: '' };
  if (!live) return { stale: true, delayed: false, why: 'no live quote: the broker\'s mark' };
  const delayed = !!quote.delayed;
  const why = quoteWhy(quote, now, rule);
  return { stale: staleReason(quote, now, rule) !== '', delayed, why };
}

/** A quote's age and freshness in words: "quote 12 s old", "quote 3 s old (stale: market
 *  data not live)", "no quote yet", … */
export function quoteWhy(q, now, rule) {
  if (!q) return 'no quote yet';
  const age = quoteAge(q, now);
  const reason = staleReason(q, now, rule);
  return `${q.delayed ? 'DELAYED quote, ' : ''}${age === null ? 'quote time unknown' : `quote ${fmtAge(age)} old`}${reason ? ` (stale: ${reason})` : ''}`;
}

/** Whether an account's balances and positions are current (its link's `account` kind is
 *  live), and if not, why: "account data stale (no heartbeat), as of 14:02:11". */
export function accountView(link, now) {
  const f = accountFreshness(link);
  return { live: f.live, state: f.state, asOf: f.asOf, why: f.live ? '' : `account data ${f.state}${f.reason ? ` (${f.reason})` : ''}, ${asOfText(f.asOf, now)}` };
}
