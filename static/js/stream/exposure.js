/*
 * β-weighted delta, IV rank, days to expiration and expected move, from the reducer's
 * state (state.js): the same rules as streaming/risk/exposure.py, which renders the page
 * first (tests/streaming/test_exposure_agree.py runs both on one snapshot). tastytrade's
 * definitions (docs/streaming-contract.md "Risk: market metrics and β-weighted delta"):
 *
 * - position delta (units of the underlying: shares, coins, a future's points) = greek
 *   delta × multiplier (100 when absent) × signed quantity for an option (a future
 *   option's multiplier is its future's point value), multiplier (1 when absent) × signed
 *   quantity for the rest (a share and a coin 1, a future its point value);
 * - β-weighted delta (SPY shares) = β × underlying price × position delta ÷ SPY price; the
 *   underlying is its contract symbol (`BTC/USD:CXTALP`, `/ESZ26:XCME`), the key of its own
 *   quote and of its metrics;
 * - expected move = underlying price × IV × √(DTE ÷ 365), IV: the expiration's own
 *   (metrics.expiration_ivs), else the option's, else the underlying's IV index.
 *
 * Prices are live quote mids (else last). A value without an input is null, never 0.
 */
import { num } from './contract.js';
import { sameDay, zoned } from './times.js';

/** The index every β is measured against. */
export const BENCHMARK = 'SPY';
const DAY_MS = 86400000;

const isOptionPosition = (p) => String(p.instrument_type || '').toLowerCase().includes('option') || String(p.streamer_symbol || '').startsWith('.');
const quoteKey = (p) => String(p.streamer_symbol || p.symbol);

/**
 * The contract symbol of the position's underlying, as the stream names it; without one, a
 * stock, a future or a coin is its own (its contract symbol, else its symbol).
 */
export function underlyingOf(p) {
  if (p.underlying) return String(p.underlying);
  const own = isOptionPosition(p) ? null : p.streamer_symbol;
  return String(own || p.symbol || '');
}

/** A symbol's live price: its quote's mid, else its last; null without a quote. */
export function livePrice(symbol, quotes) {
  const q = quotes.get(symbol);
  if (!q || typeof q !== 'object') return null;
  const bid = num(q.bid);
  const ask = num(q.ask);
  if (bid !== null && ask !== null) return (bid + ask) / 2;
  return num(q.last);
}

function signedQuantity(p) {
  const qty = num(p.quantity);
  if (qty === null) return null;
  return p.direction === 'Short' ? -qty : qty;
}

/** Its multiplier as the broker states it; absent: 100 for an option, else 1. */
function multiplierOf(p) {
  const mult = num(p.multiplier);
  if (mult !== null) return mult;
  return isOptionPosition(p) ? 100 : 1;
}

/** The position's delta in units of its underlying (shares, coins, a future's points). */
export function positionDeltaShares(p, greeks) {
  const qty = signedQuantity(p);
  if (qty === null) return null;
  if (!isOptionPosition(p)) return multiplierOf(p) * qty;
  const g = greeks.get(quoteKey(p));
  const delta = g && typeof g === 'object' ? num(g.delta) : null;
  return delta === null ? null : delta * multiplierOf(p) * qty;
}

const utcDay = (ms) => new Date(ms).toISOString().slice(0, 10);

function ivFor(p, greeks, m) {
  const expires = num(p.expires_at);
  if (expires !== null) {
    const iv = num((m.expiration_ivs || {})[utcDay(expires)]);
    if (iv !== null) return iv;
  }
  const g = greeks.get(quoteKey(p));
  const iv = g && typeof g === 'object' ? num(g.iv) : null;
  return iv !== null ? iv : num(m.iv_index);
}

/** The underlying's entry of the state's metrics, or {}. */
export function metricsOf(state, underlying) {
  const m = state.metrics && state.metrics.get(underlying);
  return m && typeof m === 'object' ? m : {};
}

/** One position's risk numbers (exposure.py `position_exposure`); `nowMs`: server ms. */
export function positionExposure(state, p, nowMs) {
  const underlying = underlyingOf(p);
  const m = metricsOf(state, underlying);
  const price = livePrice(underlying, state.quotes);
  const spy = livePrice(BENCHMARK, state.quotes);
  const delta = positionDeltaShares(p, state.greeks);
  const beta = num(m.beta);
  const betaDelta = beta !== null && price !== null && delta !== null && spy ? beta * price * delta / spy : null;
  const expires = isOptionPosition(p) ? num(p.expires_at) : null;
  const dte = expires !== null ? Math.max(0, (expires - nowMs) / DAY_MS) : null;
  const iv = dte !== null ? ivFor(p, state.greeks, m) : null;
  const move = price !== null && iv !== null && dte !== null ? price * iv * Math.sqrt(dte / 365) : null;
  return {
    symbol: String(p.symbol),
    underlying,
    delta_shares: delta,
    beta_delta: betaDelta,
    beta_delta_dollars: betaDelta !== null && spy ? betaDelta * spy : null,
    dte,
    iv,
    expected_move: move,
    iv_rank: num(m.iv_rank),
    iv_percentile: num(m.iv_percentile),
  };
}

/** The sum, or null as soon as one input is unknown (a partial sum is not the risk). */
export function knownSum(values) {
  if (!values.length || values.some((v) => v === null)) return null;
  return values.reduce((a, b) => a + b, 0);
}

/**
 * The whole portfolio's β-weighted delta in SPY shares (exposure.py
 * `portfolio_beta_delta`): every account's positions summed; null if any input lacks,
 * 0 without positions.
 */
export function portfolioBetaDelta(state, nowMs) {
  const values = [];
  for (const acct of state.accounts.values()) {
    for (const p of acct.positions.values()) values.push(positionExposure(state, p, nowMs).beta_delta);
  }
  return values.length ? knownSum(values) : 0;
}

// ------------------------------------------------------------------ what the cells' titles say

/** "just now", "3 min ago", "2 h ago", "4 d ago" (as streaming/risk/labels.py). */
export function ageText(t, nowMs) {
  const ms = num(t);
  if (ms === null) return 'at an unknown time';
  const minutes = Math.max(0, Math.floor((nowMs - ms) / 60000));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h ago`;
  return `${Math.floor(minutes / (24 * 60))} d ago`;
}

function when(t, nowMs) {
  const ms = num(t);
  if (ms === null) return 'an unknown time';
  return zoned(ms, sameDay(ms, nowMs) ? 'hm' : 'day-hm');
}

/** E.g. "β 1.21 from tastytrade, as of 14:02 EST (fetched 3 min ago); …" (the trader's
 *  zone, named: times.js; streaming/risk/labels.py says the same). */
export function betaTitle(underlying, m, nowMs) {
  const beta = num(m.beta);
  if (beta === null) return `No β for ${underlying}: no link serves its market metrics or a year of closes`;
  const window = m.beta_window ? ` (${m.beta_window})` : '';
  return `β ${beta.toFixed(2)} from ${m.beta_source || 'an unknown source'}${window}, as of ${when(m.beta_as_of, nowMs)} (fetched ${ageText(m.t, nowMs)}); β-weighted delta in ${BENCHMARK} shares`;
}

/** E.g. "IV rank 35 (tastytrade, 3 min ago)". */
export function ivRankTitle(underlying, m, nowMs) {
  const rank = num(m.iv_rank);
  if (rank === null) return `No IV rank for ${underlying}: no source has it (tastytrade's market metrics)`;
  return `IV rank ${rank.toFixed(0)} (${m.iv_source || 'unknown source'}, ${ageText(m.t, nowMs)})`;
}
