/*
 * The chain page's expected move, pure (no DOM; `now` is handed in): one standard deviation
 * of the underlying by the expiration shown, price × IV × √(days / 365), the formula of
 * streaming/portfolio/expected_move.py (which writes the same line at the page's first
 * paint). Computed here from values the page already has, so it follows the live price and
 * IV without a server round trip (docs/streaming-contract.md "The expected move"). The
 * chart's band (`chartBand`) reads the same numbers from a chain answer.
 */
import { cellText } from './chain.js';
import { MARKET_ZONE, zoneOffset } from './times.js';

export const DAYS_PER_YEAR = 365;
const DAY_MS = 86_400_000;
/** An equity option expires at the 16:00 New York close of its day. */
const CLOSE_HOUR = 16;

/** Epoch ms of 16:00 New York on `isoDate` (`YYYY-MM-DD`), or null for another text. The
 *  clocks change at 02:00, so the offset at 16:00 UTC that day is the one at the close. */
export function closeOf(isoDate) {
  const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(String(isoDate || ''));
  if (!m) return null;
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), CLOSE_HOUR);
  return wall - zoneOffset(wall, MARKET_ZONE);
}

/** Fractional calendar days from `now` (ms) to `isoDate`'s close; ≤ 0 once it passed. */
export function daysUntil(isoDate, now) {
  const close = closeOf(isoDate);
  return close === null ? null : (close - now) / DAY_MS;
}

/** price × IV × √(days / 365): one sd of the price in `days` (0 once the close passed). */
export function expectedMove(price, iv, days) {
  return price * iv * Math.sqrt(Math.max(days, 0) / DAYS_PER_YEAR);
}

const known = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;

/** The strike nearest `price` (ties: the lower, as the chain's `atm_strike`), or null. */
export function nearestStrike(strikes, price) {
  let best = null;
  for (const k of strikes) {
    if (best === null || Math.abs(k - price) < Math.abs(best - price) || (Math.abs(k - price) === Math.abs(best - price) && k < best)) best = k;
  }
  return best;
}

/** The at-the-money IV: the mid of the call's and put's IV at the strike nearest `price`,
 *  else the one that is known; null when neither is. `rows`: [{strike, callIv, putIv}]. */
export function atmIv(rows, price) {
  const strike = nearestStrike(rows.map((r) => r.strike), price);
  const row = rows.find((r) => r.strike === strike);
  if (!row) return null;
  const ivs = [row.callIv, row.putIv].filter(known);
  return ivs.length ? ivs.reduce((a, b) => a + b, 0) / ivs.length : null;
}

/** The strikes nearest the low and the high edge; a tie goes outward (the lower strike for
 *  the low, the higher for the high), so the marked range never understates the move. */
export function edgeStrikes(strikes, low, high) {
  const nearest = (target, outward) => {
    let best = null;
    for (const k of strikes) {
      const d = Math.abs(k - target);
      const b = best === null ? Infinity : Math.abs(best - target);
      if (d < b || (d === b && outward(k, best))) best = k;
    }
    return best;
  };
  return { low: nearest(low, (k, b) => k < b), high: nearest(high, (k, b) => k > b) };
}

/**
 * What the page shows: {text, low, high, edges: {low, high} (strikes, or null)}. Without a
 * price, an ATM IV or time left, `text` says why and `edges` is null: never an old number.
 * `rows`: [{strike, callIv, putIv}] with the current values; `name`: the underlying.
 */
export function expectedMoveView({ name, expiration, price, rows, now }) {
  const none = (why) => ({ text: `Expected move: ${why}`, move: null, low: null, high: null, edges: null });
  if (!known(price)) return none(`no price for ${name} yet.`);
  const days = daysUntil(expiration, now);
  if (days === null || days <= 0) return none('this expiration\'s close has passed.');
  const iv = atmIv(rows, price);
  if (iv === null) return none('the IV at the money has not streamed yet.');
  const move = expectedMove(price, iv, days);
  const low = price - move;
  const high = price + move;
  const pct = ((move / price) * 100).toFixed(1);
  const text = `Expected move ±${cellText('bid', move)} (±${pct}%) by ${expiration}: ${cellText('bid', low)} – ${cellText('bid', high)}`;
  return { text, move, low, high, edges: edgeStrikes(rows.map((r) => r.strike), low, high) };
}

/** The streamer symbols of the at-the-money call and put of a chain answer (the strike
 *  nearest its `underlying_price`): the chart streams them so the chain carries their IV. */
export function atmSymbols(chain) {
  const price = chain && chain.underlying_price;
  if (!known(price)) return [];
  const rows = chain.rows || [];
  const strike = nearestStrike(rows.map((r) => r.strike), price);
  const row = rows.find((r) => r.strike === strike);
  return row ? [row.call, row.put].filter((s) => s && s.symbol).map((s) => s.symbol) : [];
}

/** The chart's band is of the nearest expiration at least this many days out. */
export const BAND_MIN_DAYS = 1;

/** The nearest of `dates` (`YYYY-MM-DD`, any order) whose close is ≥ 1 day after `now`, or null. */
export function bandExpiration(dates, now) {
  const ahead = (dates || []).filter((d) => (daysUntil(d, now) ?? -1) >= BAND_MIN_DAYS);
  return ahead.length ? ahead.sort()[0] : null;
}

/**
 * The chart's band from a chain answer (`GET /api/chain/<SYM>`): {text, move, low, high,
 * price, iv, days, expiration, ask: null} with the chain page's words; or, without a number,
 * {text (why, in words), move: null, ask, missing (expiration | chain | price | iv)}: `ask` is the expiration to ask instead when the
 * answer's is under a day away and a later one is listed (null otherwise).
 */
export function chartBand({ name, chain, now }) {
  const none = (missing, why, ask = null) => ({ text: `No expected move: ${why}`, move: null, ask, missing });
  const expiration = bandExpiration(chain.expirations, now);
  if (expiration === null) return none('expiration', `${name} lists no expiration a day or more away.`);
  if (expiration !== chain.expiration) return none('chain', `asking the chain of ${expiration}…`, expiration);
  const price = chain.underlying_price;
  if (!known(price)) return none('price', `no price for ${name} yet.`);
  const rows = (chain.rows || []).map((r) => ({ strike: r.strike, callIv: r.call && r.call.iv, putIv: r.put && r.put.iv }));
  const iv = atmIv(rows, price);
  if (iv === null) return none('iv', `the IV at the money of ${expiration} is not known yet.`);
  const days = daysUntil(expiration, now);
  const view = expectedMoveView({ name, expiration, price, rows, now });
  return { text: view.text, move: view.move, low: view.low, high: view.high, price, iv, days, expiration, ask: null };
}
