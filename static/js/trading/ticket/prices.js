/*
 * A ticket's prices, pure (docs/streaming-contract.md "The order": the tick grid; "In the
 * browser": the prefill): each instrument's own tick grid (static/js/stream/instruments.js:
 * stock and coins 0.01 from 1.00, 0.0001 below; equity options 0.01 below 3.00, 0.05 from
 * 3.00, SPY/QQQ/IWM 0.01; a future its product's, /ES 0.25; its options the product's
 * option tick, /ES 0.25 from 5.00, 0.05 below; a multi-leg equity option net price 0.01),
 * and the price a ticket starts from, read from the instrument's own live quote (the
 * contract symbol's: never a look-alike ticker's).
 */
import { num } from '../../stream/contract.js';
import { KIND, displayOf, parse } from '../../stream/instruments.js';

export const isBuy = (action) => String(action).startsWith('Buy');

/** The tick (a decimal text) of `symbol` at `price`; a multi-leg's (`legCount` > 1) net price
 *  moves in 0.01, or in its first leg's tick for options on a future. Null: not known here
 *  (a future of a product the app does not list). */
export function tickOf(symbol, price, legCount = 1) {
  const it = parse(String(symbol ?? ''));
  if (legCount > 1 && !(it && it.kind === KIND.FUTURE_OPTION)) return '0.01';
  if (!it) return price >= 1 ? '0.01' : '0.0001'; // not a symbol: the stock rule
  return it.tick(price);
}

export const decimalsOf = (tick) => (String(tick).split('.')[1] || '').length;

/** `price` on `symbol`'s tick grid, as the decimal string the order carries (the nearest
 *  tick; never below one tick); null for no price, or a grid not known here. */
export function roundToTick(symbol, price, legCount = 1) {
  const p = num(price);
  if (p === null || !(p > 0)) return null;
  const tick = tickOf(symbol, p, legCount);
  if (tick === null) return null;
  const places = decimalsOf(tick);
  const scale = 10 ** places;
  const step = Math.round(Number(tick) * scale);
  const units = Math.max(step, Math.round(Math.round(p * scale) / step) * step);
  return (units / scale).toFixed(places);
}

export const isPositiveDecimal = (s) => /^[0-9]+(\.[0-9]+)?$/.test(s) && Number(s) > 0;

/** Whether a price the trader typed is a positive decimal on the grid (a sentence if not).
 *  `what`: the field the sentence names (a stop price and a trail's amount are on the grid
 *  too). The instrument is named as a trader reads it. */
export function priceProblem(symbol, text, legCount = 1, what = 'price') {
  const s = String(text || '').trim();
  if (!isPositiveDecimal(s)) return `The ${what} must be a positive number, e.g. 2.35.`;
  const tick = tickOf(symbol, Number(s), legCount);
  if (tick === null) return `${displayOf(symbol)}: its tick is not known here, so no price can be checked.`;
  const places = decimalsOf(tick);
  const [, frac = ''] = s.split('.');
  const digits = Math.max(places, frac.length);
  const scaled = Math.round(Number(s) * 10 ** digits);
  const step = Math.round(Number(tick) * 10 ** digits);
  if (scaled % step === 0) return null;
  const moves = legCount > 1 ? 'a multi-leg net price moves' : `${displayOf(symbol)} trades`;
  return `The ${what} ${s} is off the tick grid: ${moves} in steps of ${tick} at that price.`;
}

/** A mid of a quote (both sides), else null. */
export const midOf = (q) => {
  const bid = num(q && q.bid);
  const ask = num(q && q.ask);
  return bid !== null && ask !== null && bid > 0 && ask > 0 ? (bid + ask) / 2 : null;
};

const gcd = (a, b) => (b ? gcd(b, a % b) : a);

/** The limit price a ticket starts from: buy at the ask, sell at the bid (one leg), the net
 *  mid for several (what the buys cost less what the sells bring, as a positive number, per
 *  unit of the legs' ratio: a 2 × 2 vertical's net is one vertical's) on the net grid; one
 *  leg on its tick grid. `quote(symbol)`: the stream's quote of the contract symbol. Null
 *  when unknown. */
export function prefillPrice(legs, quote) {
  if (!legs.length) return null;
  if (legs.length === 1) {
    const q = quote(legs[0].symbol);
    return roundToTick(legs[0].symbol, num(q && (isBuy(legs[0].action) ? q.ask : q.bid)));
  }
  let net = 0;
  let unit = 0;
  for (const leg of legs) {
    const mid = midOf(quote(leg.symbol));
    if (mid === null) return null;
    const qty = Math.max(1, Math.trunc(num(leg.quantity) || 1));
    net += (isBuy(leg.action) ? 1 : -1) * mid * qty;
    unit = gcd(qty, unit);
  }
  return roundToTick(legs[0].symbol, Math.abs(net) / unit, legs.length);
}

/** One tick above (`up`) or below `price` (a price on `symbol`'s grid), as the order's decimal
 *  string: a step down from a grid's boundary (1.00 for stock, 3.00 for options, 5.00 for an
 *  /ES option) takes the finer tick below it (3.00 → 2.99). Null at or below 0, or where the
 *  grid is not known. */
export function tickBeyond(symbol, price, up) {
  const SCALE = 1e7; // the finest tick listed is 0.0078125 (/ZF)
  const tickAt = (units) => {
    const t = tickOf(symbol, units / SCALE);
    return t === null ? null : Math.round(Number(t) * SCALE);
  };
  const at = Math.round(price * SCALE);
  const here = tickAt(at);
  if (here === null) return null;
  const units = up ? at + here : at - Math.min(here, tickAt(at - here) ?? here);
  if (units <= 0) return null;
  return (units / SCALE).toFixed(decimalsOf(tickOf(symbol, units / SCALE)));
}

/** The stop price a ticket starts from when the type becomes Stop or Stop Limit: one tick
 *  beyond the market on the protective side (a sell one tick below the bid, a buy one above
 *  the ask), so that it does not trigger as soon as it is placed. One leg only (a stop has
 *  one); null without that side of the quote. */
export function prefillStopPrice(legs, quote) {
  if (legs.length !== 1) return null;
  const leg = legs[0];
  const q = quote(leg.symbol);
  const buy = isBuy(leg.action);
  const market = roundToTick(leg.symbol, num(q && (buy ? q.ask : q.bid)));
  return market === null ? null : tickBeyond(leg.symbol, Number(market), buy);
}

/** How far from the mark a position's Protect… starts its exits: 5 %, inside the price
 *  guard's 10 % band (TRADING_PRICE_WARN), so the defaults ask for no second confirm. */
export const PROTECT_DISTANCE = 0.05;

/** The take-profit and stop-loss a position's Protect… starts with, for the leg that closes
 *  it (`Sell to Close` a long, `Buy to Close` a short): `PROTECT_DISTANCE` from `mark` (the
 *  mid of its own live quote, else the broker's mark) on each side — the take-profit where
 *  the position gains (above the mark for a long, below for a short), the stop where it
 *  loses — on the instrument's tick grid, at least a tick from the mark. {take, stop}
 *  (either null where no price is on the grid), or null without a mark. */
export function protectPrices(leg, mark) {
  const m = num(mark);
  if (m === null || !(m > 0)) return null;
  const at = roundToTick(leg.symbol, m);
  if (at === null) return null;
  const beyond = (up) => {
    const p = roundToTick(leg.symbol, m * (1 + (up ? PROTECT_DISTANCE : -PROTECT_DISTANCE)));
    const past = p !== null && (up ? Number(p) > Number(at) : Number(p) < Number(at));
    return past ? p : tickBeyond(leg.symbol, Number(at), up);
  };
  const above = beyond(true);
  const below = beyond(false);
  return isBuy(leg.action) ? { take: below, stop: above } : { take: above, stop: below };
}
