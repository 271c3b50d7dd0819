/*
 * The option chain page's pure parts (no DOM, no clock): each cell's text, a side's
 * values (the chain's, then newer stream values), the symbols the page streams, what
 * changes when the window moves, and the messages (greeks' age, a rate limit, an error).
 * streaming/chains/service.py writes the same text for the server-rendered page
 * (docs/streaming-contract.md "Option chains").
 */
import { DASH, fmt } from './format.js';

/** The columns of each side, in the page's order (the same for calls and puts). */
export const COLUMNS = ['bid', 'ask', 'mark', 'volume', 'open_interest', 'iv', 'delta', 'gamma', 'theta', 'vega'];
/** The quote frames per second the chain page asks (`pace`, docs/streaming-contract.md):
 *  every option of the window and its greeks tick with the underlying. */
export const CHAIN_PACE = 2;
/** The strike counts the page offers; 20 by default. */
export const STRIKE_COUNTS = [10, 20, 40];
export const DEFAULT_STRIKES = 20;

const DECIMALS = { bid: 2, ask: 2, mark: 2, delta: 3, gamma: 4, theta: 3, vega: 3 };
const fixed = new Map();
function nf(digits) {
  let f = fixed.get(digits);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    fixed.set(digits, f);
  }
  return f;
}

/** One cell: prices 2 decimals, IV in % (1 decimal), volume/OI whole, greeks 3-4; "—" for null. */
export function cellText(field, v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return DASH;
  if (field === 'iv') return `${(v * 100).toFixed(1)}%`;
  if (field === 'volume' || field === 'open_interest') return nf(0).format(Math.round(v));
  const digits = DECIMALS[field] ?? 2;
  return nf(digits).format(Math.abs(v) < 0.5 * 10 ** -digits ? 0 : v); // never "-0.000"
}

/** `590`, `2.5`, `12.75`. */
export function strikeText(strike) {
  return String(Number(strike.toFixed(3)));
}

/** (bid + ask) / 2 when both are known and ask > 0, else null. */
export function mid(bid, ask) {
  if (typeof bid !== 'number' || typeof ask !== 'number' || bid < 0 || ask <= 0) return null;
  return Math.round(((bid + ask) / 2) * 10000) / 10000;
}

const QUOTE_FIELDS = ['bid', 'ask', 'last', 'volume'];
const GREEK_FIELDS = ['iv', 'delta', 'gamma', 'theta', 'vega'];

/**
 * A side's values now: the chain's own (Tradier's row, or the last known values the page
 * was rendered with), then the stream's quote, then its greeks unless they are older
 * than the chain's (Tradier: the chain's greeks carry `greeks_t`). chains.py `side_values`.
 */
export function sideValues(side, quote, greeks) {
  const out = { symbol: side.symbol };
  for (const f of [...COLUMNS, 'last', 'quote_t', 'greeks_t']) out[f] = side[f] ?? null;
  if (quote) {
    for (const f of QUOTE_FIELDS) if (quote[f] !== undefined && quote[f] !== null) out[f] = quote[f];
    if (quote.t != null) out.quote_t = quote.t;
  }
  if (greeks && (out.greeks_t === null || (greeks.t || 0) >= out.greeks_t)) {
    for (const f of GREEK_FIELDS) if (greeks[f] !== undefined && greeks[f] !== null) out[f] = greeks[f];
    if (greeks.t != null) out.greeks_t = greeks.t;
  }
  out.mark = mid(out.bid, out.ask);
  return out;
}

/** The streamer symbols of a chain's rows (calls and puts): what the page subscribes. */
export function chainSymbols(chain) {
  if (!chain || !Array.isArray(chain.rows)) return [];
  const out = [];
  for (const r of chain.rows) for (const side of [r.call, r.put]) if (side && side.symbol) out.push(side.symbol);
  return out;
}

/** What to `unsubscribe` and `subscribe` when the window moves from `before` to `after`. */
export function windowChange(before, after) {
  const a = new Set(before);
  const b = new Set(after);
  return { remove: before.filter((s) => !b.has(s)), add: after.filter((s) => !a.has(s)) };
}

/** "greeks as of 10:00, 37 min ago" (Tradier recomputes them hourly); '' without a time. */
export function greeksAgeText(t, now) {
  if (typeof t !== 'number') return '';
  const hhmm = fmt.hm(t);
  const min = Math.max(0, Math.round((now - t) / 60000));
  const ago = min < 1 ? 'just now' : min < 120 ? `${min} min ago` : `${Math.round(min / 60)} h ago`;
  return `greeks as of ${hhmm}, ${ago} (Tradier recomputes greeks hourly)`;
}

/** The oldest greeks time of a chain's sides (what the age line says), or null. */
export function oldestGreeksT(sides) {
  let t = null;
  for (const s of sides) if (typeof s.greeks_t === 'number' && (t === null || s.greeks_t < t)) t = s.greeks_t;
  return t;
}

/** An API error body as the page's sentence ("rate-limited, retrying in 7 s"). */
export function errorMessage(body, retryIn) {
  if (!body || typeof body !== 'object') return 'The chain could not be loaded.';
  if (body.code === 'rate_limited') return `The broker is rate-limited, retrying in ${Math.max(0, Math.ceil(retryIn ?? body.retry_in ?? 0))} s`;
  return String(body.error || 'The chain could not be loaded.');
}

/** `/api/chain/SPY?expiration=…&strikes=…` (the page's own URL uses the same query). */
export function chainQuery(base, { expiration, strikes }) {
  const q = new URLSearchParams();
  if (expiration) q.set('expiration', expiration);
  if (strikes) q.set('strikes', String(strikes));
  const text = q.toString();
  return text ? `${base}?${text}` : base;
}
