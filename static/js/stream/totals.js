/*
 * Portfolio totals: every account of the user (every broker) summed, per currency, as a
 * pure function of the reducer's state (state.js). Derived, never sent: no frame carries
 * them. The server renders the same numbers first (streaming/portfolio/totals.py; a test feeds one
 * snapshot to both, tests/streaming/test_totals.py).
 *
 * - Amounts are summed within one currency only. The contract has no currency field: every
 *   broker streamdesk links keeps its accounts in US dollars (docs/streaming-contract.md,
 *   "Objects"), so the currency is the broker's (`BROKER_CURRENCY`). An account of another
 *   broker is not totalled at all (listed in `uncounted`), never added to the dollars.
 * - A missing input is never 0. Each total sums the inputs that have a value and says how
 *   many of how many did (`have` of `of`): `partial` when some did not, `value` null ("—")
 *   when none did. A sum over no inputs at all (no positions) is a true 0.
 * - P&L and position delta come from format.js (positionPnl, positionDelta): one formula.
 * - Greeks: delta in shares = Σ position delta (option delta × quantity × multiplier ×
 *   direction, 1 per share of stock); dollar delta = Σ share delta × the underlying's live
 *   price (a stock's own mark; an option's underlying quote, if the stream carries one);
 *   theta per day in money = Σ theta × quantity × multiplier × direction (stock: 0).
 * - Staleness (needs the clock): a total is stale when an input it counts is: its
 *   account's data is not live, a mark is stale or the broker's, greeks are old.
 */
import { num, quoteStale } from './contract.js';
import { accountView, isOption, markOf, markView, positionDelta, positionPnl } from './format.js';

/** The currency each broker keeps its accounts in (contract, "Objects": balance). */
export const BROKER_CURRENCY = Object.freeze({ tastytrade: 'USD', tradier: 'USD', alpaca: 'USD' });

/** The totals, in the order the panel shows them. */
export const TOTAL_FIELDS = ['net_liq', 'day_pnl', 'open_pnl', 'buying_power', 'delta_shares', 'delta_dollars', 'theta'];

/** The accounts' currency (by broker), or null when unknown. */
export function currencyOf(acct) {
  return BROKER_CURRENCY[String(acct.broker || '').toLowerCase()] ?? null;
}

/** A position's theta per day in money: theta × quantity × multiplier × (±1); a share has none. */
export function positionTheta(p, greeks) {
  const sign = p.direction === 'Short' ? -1 : 1;
  const qty = num(p.quantity);
  const mult = num(p.multiplier) ?? 1;
  if (isOption(p)) {
    const g = greeks.get(p.streamer_symbol || p.symbol);
    const theta = g ? num(g.theta) : null;
    return theta !== null && qty !== null ? theta * qty * mult * sign : null;
  }
  return positionDelta(p, greeks) === null ? null : 0; // stock: no time decay
}

/** The underlying's live price a position's delta is worth in money, or null. */
export function underlyingPrice(p, quotes) {
  if (!isOption(p)) {
    const m = markOf(p, quotes);
    return m.live ? m.mark : null;
  }
  if (!p.underlying) return null;
  const m = markOf({ symbol: String(p.underlying) }, quotes);
  return m.live ? m.mark : null;
}

const counter = () => ({ sum: 0, have: 0, of: 0, stale: 0, delayed: false });

function add(c, v, stale, delayed) {
  c.of += 1;
  if (v === null || v === undefined) return;
  c.sum += v;
  c.have += 1;
  if (stale) c.stale += 1;
  if (delayed) c.delayed = true;
}

function done(c, unit) {
  return { value: c.have ? c.sum : (c.of ? null : 0), have: c.have, of: c.of, unit, partial: c.have < c.of, stale: c.stale, delayed: c.delayed };
}

/**
 * The user's totals: `{groups: [{currency, accounts: [numbers], net_liq, day_pnl, open_pnl,
 * buying_power, delta_shares, delta_dollars, theta}], uncounted: [{number, broker}]}`,
 * groups by currency in order of first appearance, accounts in the state's order. Each
 * total is `{value, have, of, unit ('accounts'|'positions'), partial, stale, delayed}`
 * (`stale`: how many counted inputs are stale at server time `now`; 0 without `now`).
 */
export function portfolioTotals(state, now) {
  const clock = now === undefined || now === null ? null : now;
  const groups = new Map();
  const uncounted = [];
  for (const acct of state.accounts.values()) {
    const currency = currencyOf(acct);
    if (currency === null) { uncounted.push({ number: acct.number, broker: acct.broker || '' }); continue; }
    if (!groups.has(currency)) groups.set(currency, { currency, accounts: [], c: Object.fromEntries(TOTAL_FIELDS.map((f) => [f, counter()])) });
    const g = groups.get(currency);
    g.accounts.push(acct.number);
    const link = acct.link === null || acct.link === undefined ? null : state.links.get(String(acct.link)) || null;
    const acctStale = clock !== null && !accountView(link, clock).live;
    const bal = acct.balance || {};
    add(g.c.net_liq, num(bal.net_liquidating_value), acctStale, false);
    add(g.c.buying_power, num(bal.buying_power), acctStale, false);
    for (const p of acct.positions.values()) {
      const pnl = positionPnl(p, state.quotes);
      const mv = clock === null ? { stale: false, delayed: false } : markView(p, state.quotes, clock, state.freshness);
      const markStale = acctStale || mv.stale;
      add(g.c.day_pnl, pnl.day, markStale, mv.delayed);
      add(g.c.open_pnl, pnl.open, markStale, mv.delayed);
      const gk = isOption(p) ? state.greeks.get(p.streamer_symbol || p.symbol) : null;
      const greeksStale = acctStale || (clock !== null && isOption(p) && quoteStale(gk, clock, state.freshness));
      const shares = positionDelta(p, state.greeks);
      add(g.c.delta_shares, shares, greeksStale, false);
      const price = underlyingPrice(p, state.quotes);
      const uq = isOption(p) ? state.quotes.get(String(p.underlying)) : state.quotes.get(p.streamer_symbol || p.symbol);
      const priceStale = clock !== null && quoteStale(uq, clock, state.freshness);
      add(g.c.delta_dollars, shares !== null && price !== null ? shares * price : null, greeksStale || priceStale, !!(uq && uq.delayed));
      add(g.c.theta, positionTheta(p, state.greeks), greeksStale, false);
    }
  }
  const out = [];
  for (const g of groups.values()) {
    const row = { currency: g.currency, accounts: g.accounts };
    for (const f of TOTAL_FIELDS) row[f] = done(g.c[f], f === 'net_liq' || f === 'buying_power' ? 'accounts' : 'positions');
    out.push(row);
  }
  return { groups: out, uncounted };
}

const NOUN = { accounts: ['account', 'accounts'], positions: ['position', 'positions'] };
const MISSING = {
  net_liq: 'have a balance', buying_power: 'have buying power', day_pnl: 'have a price and a previous close',
  open_pnl: 'have a price and an open price', delta_shares: 'have a delta', delta_dollars: 'have a delta and an underlying price', theta: 'have a theta',
};

/** "partial: 2 of 3 accounts have a balance" ("" when complete). */
export function partialText(field, t) {
  if (!t.partial) return '';
  return `partial: ${t.have} of ${t.of} ${NOUN[t.unit][t.of === 1 ? 0 : 1]} ${MISSING[field]}`;
}

/** Why a total looks stale ("" when it does not). */
export function staleText(t) {
  const parts = [];
  if (t.stale) parts.push(`${t.stale} of ${t.have} ${NOUN[t.unit][t.have === 1 ? 0 : 1]} counted ${t.stale === 1 ? 'is' : 'are'} stale`);
  if (t.delayed) parts.push('includes DELAYED quotes');
  return parts.join('; ');
}
