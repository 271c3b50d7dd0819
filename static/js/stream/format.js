/*
 * What the dashboard shows, as pure functions: numbers, times and ages as text, the mark a
 * position is valued at, its P&L and delta, and why a value is stale. No DOM, no timers:
 * the clock is a parameter. A value nobody sent is `null` and shows "—", never 0.
 */
import { accountFreshness, num, optionParts, quoteAge, staleReason } from './contract.js';

export const DASH = '—';

// ------------------------------------------------------------------ numbers and times

const formatters = new Map();
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

const pad = (n) => String(n).padStart(2, '0');

/** en-US text for each kind of value; `null` (and undefined) is "—". */
export const fmt = {
  money: (v) => (v == null ? DASH : nf(2, 2).format(v)),
  pnl: (v) => (v == null ? DASH : nf(2, 2, 'sign').format(v)),
  price: (v) => (v == null ? DASH : nf(2, Math.abs(v) < 10 ? 4 : 2).format(v)),
  change: (v) => (v == null ? DASH : nf(2, Math.abs(v) < 1 ? 4 : 2, 'sign').format(v)),
  qty: (v) => (v == null ? DASH : nf(0, 4).format(v)),
  delta: (v) => (v == null ? DASH : nf(0, 1, 'sign').format(v)),
  greek: (v, digits) => (v == null ? DASH : nf(digits, digits).format(v)),
  pct: (v) => (v == null ? DASH : `${nf(1, 1).format(v * 100)}%`),
  volume: (v) => (v == null ? DASH : (Math.abs(v) < 100000 ? nf(0, 0).format(v) : nf(0, 1, 'compact').format(v))),
  /** Local wall-clock time `HH:MM:SS`; "" for null. */
  time: (ms) => {
    if (ms == null) return '';
    const d = new Date(ms);
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  },
};

/** "0.4 s" below 10 s, then "12 s", "3 min", "2 h"; "—" for null. */
export function fmtAge(ms) {
  if (ms === null || ms === undefined) return DASH;
  if (ms < 10000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7200000) return `${Math.round(ms / 60000)} min`;
  return `${Math.round(ms / 3600000)} h`;
}

/** "as of 14:02:11" (today, by the clock `now`), "as of Mar 3 14:02:11" (another day). */
export function asOfText(ms, now) {
  if (ms === null || ms === undefined) return 'not confirmed yet';
  const d = new Date(ms);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return `as of ${sameDay ? '' : `${d.toLocaleDateString('en-US', { month: 'short', day: 'numeric' })} `}${fmt.time(ms)}`;
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "SPY 570P" over "exp 20 Mar 26" for options; the symbol over its type otherwise. */
export function symbolLabel(p) {
  const o = optionParts(p.streamer_symbol);
  if (o && o.mm >= 1 && o.mm <= 12) return { main: `${o.root} ${o.strike}${o.right}`, sub: `exp ${o.dd} ${MONTHS[o.mm - 1]} ${o.yy}` };
  return { main: String(p.symbol), sub: String(p.instrument_type || '') };
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
