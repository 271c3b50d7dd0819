/*
 * The order ticket's rules, pure (docs/streaming-contract.md "Trading …", "In the browser"):
 * a ticket's draft from each entry point (a position's Trade…/Close…, a watchlist row, a
 * chain cell, the risk graph's underlying, a working order's Replace…), the price from the
 * live quote on the contract's tick grid (a stop's trigger a tick beyond the market), what
 * each broker takes (so the form offers no more), the order body the server reads, the
 * preview's countdown and its second confirm, one Idempotency-Key per preview, and the
 * order's status and fills read back from the stream's state. No DOM, no clock: the ticket
 * (ticket.js, ticket-flow.js) passes the time and the state in.
 */
import { normalizeSymbol, num, optionParts, orderKey } from '../stream/contract.js';

export const ACTIONS = ['Buy to Open', 'Sell to Close', 'Sell to Open', 'Buy to Close'];
export const MAX_QUANTITY = 1000000;
/** Underlyings whose options trade in pennies throughout. */
export const PENNY_ROOTS = new Set(['SPY', 'QQQ', 'IWM']);

export const ORDER_TYPES = ['Limit', 'Market', 'Stop', 'Stop Limit', 'Trailing Stop', 'Notional Market'];
/** A dollar amount at market: the broker sizes it when it fills (no quantity). */
export const NOTIONAL = 'Notional Market';
/** Parts of a share: Alpaca's 9 decimals (the finest any broker takes). */
export const MAX_QUANTITY_PLACES = 9;
/** The types that take a limit price, and those armed at a stop price (the contract's). */
export const PRICED_TYPES = new Set(['Limit', 'Stop Limit']);
export const STOP_TYPES = new Set(['Stop', 'Stop Limit']);
/** The types of one leg only (every stop: a multi-leg order is a Limit or a Market). */
export const ONE_LEG_TYPES = new Set(['Stop', 'Stop Limit', 'Trailing Stop', NOTIONAL]);
/** A trail is one of these: dollars or percent. */
export const TRAIL_UNITS = ['amount', 'percent'];

/** What each broker takes (and the form offers nothing more): order types (of stock, of
 *  options; a multi-leg order only those not in ONE_LEG_TYPES), times in force (for stock,
 *  for options), multi-leg orders, and parts of a share (`fractional`: of stock). Trailing
 *  stops: Alpaca's, of stock only; dollar amounts (Notional Market): tastytrade's and
 *  Alpaca's, of stock. */
const STOPS = ['Limit', 'Market', 'Stop', 'Stop Limit'];
export const BROKER_RULES = {
  tastytrade: { stockTypes: [...STOPS, NOTIONAL], optionTypes: STOPS, stockTif: ['Day', 'GTC'], optionTif: ['Day', 'GTC'], maxLegs: 4, fractional: false },
  tradier: { stockTypes: STOPS, optionTypes: STOPS, stockTif: ['Day', 'GTC'], optionTif: ['Day', 'GTC'], maxLegs: 4, fractional: false },
  alpaca: { stockTypes: [...STOPS, 'Trailing Stop', NOTIONAL], optionTypes: STOPS, stockTif: ['Day', 'GTC'], optionTif: ['Day'], maxLegs: 1, fractional: true },
};

/** The brokers' names as a sentence writes them. */
export const BROKER_NAMES = { tastytrade: 'tastytrade', tradier: 'Tradier', alpaca: 'Alpaca' };

export const isBuy = (action) => String(action).startsWith('Buy');
export const isOptionSymbol = (symbol) => optionParts(symbol) !== null;
/** A symbol a ticket can trade: a stock ticker or an option's streamer symbol (no futures). */
export const tradable = (symbol) => normalizeSymbol(symbol) === symbol && !String(symbol).startsWith('/');

// ------------------------------------------------------------------ the tick grid

/** The tick (a decimal string) of `symbol` at `price`: stock ≥ 1.00 0.01, below 0.0001;
 *  options below 3.00 0.01, from 3.00 0.05 (SPY, QQQ, IWM: 0.01 throughout); a multi-leg's
 *  net price (`legCount` > 1) 0.01 at every broker here. */
export function tickOf(symbol, price, legCount = 1) {
  if (legCount > 1) return '0.01';
  const option = optionParts(symbol);
  if (option) return PENNY_ROOTS.has(option.root) || price < 3 ? '0.01' : '0.05';
  return price >= 1 ? '0.01' : '0.0001';
}

const decimalsOf = (tick) => (tick.split('.')[1] || '').length;

/** `price` on `symbol`'s tick grid, as the decimal string the order carries (the nearest
 *  tick; never below one tick); null for no price. */
export function roundToTick(symbol, price, legCount = 1) {
  const p = num(price);
  if (p === null || !(p > 0)) return null;
  const tick = tickOf(symbol, p, legCount);
  const places = decimalsOf(tick);
  const scale = 10 ** places;
  const step = Math.round(Number(tick) * scale);
  const units = Math.max(step, Math.round(Math.round(p * scale) / step) * step);
  return (units / scale).toFixed(places);
}

const isPositiveDecimal = (s) => /^[0-9]+(\.[0-9]+)?$/.test(s) && Number(s) > 0;

/** Whether a price the trader typed is a positive decimal on the grid (a sentence if not).
 *  `what`: the field the sentence names (a stop price and a trail's amount are on the grid
 *  too). */
export function priceProblem(symbol, text, legCount = 1, what = 'price') {
  const s = String(text || '').trim();
  if (!isPositiveDecimal(s)) return `The ${what} must be a positive number, e.g. 2.35.`;
  const tick = tickOf(symbol, Number(s), legCount);
  const places = decimalsOf(tick);
  const [, frac = ''] = s.split('.');
  const scaled = Math.round(Number(s) * 10 ** Math.max(places, frac.length));
  const step = Math.round(Number(tick) * 10 ** Math.max(places, frac.length));
  if (scaled % step === 0) return null;
  const moves = legCount > 1 ? 'a multi-leg net price moves' : `${symbol} trades`;
  return `The ${what} ${s} is off the tick grid: ${moves} in steps of ${tick} at that price.`;
}

// ------------------------------------------------------------------ prices from the quote

/** A mid of a quote (both sides), else null. */
const midOf = (q) => {
  const bid = num(q && q.bid);
  const ask = num(q && q.ask);
  return bid !== null && ask !== null && bid > 0 && ask > 0 ? (bid + ask) / 2 : null;
};

const gcd = (a, b) => (b ? gcd(b, a % b) : a);

/** The limit price a ticket starts from: buy at the ask, sell at the bid (one leg), the net
 *  mid for several (what the buys cost less what the sells bring, as a positive number, per
 *  unit of the legs' ratio: a 2 × 2 vertical's net is one vertical's) on the 0.01 grid;
 *  one leg on its tick grid. `quote(symbol)`: the stream's quote. Null when unknown. */
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
 *  string: a step down from a grid's boundary (1.00 for stock, 3.00 for options) takes the
 *  finer tick below it (3.00 → 2.99). Null at or below 0. */
export function tickBeyond(symbol, price, up) {
  const SCALE = 10000; // the finest tick is 0.0001
  const tick = (units) => Math.round(Number(tickOf(symbol, units / SCALE)) * SCALE);
  const at = Math.round(price * SCALE);
  const units = up ? at + tick(at) : at - Math.min(tick(at), tick(at - tick(at)));
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

// ------------------------------------------------------------------ accounts

/** The accounts a ticket may choose from, from the stream's state (`accounts`: number →
 *  {number, link, broker, label}): `{value: "<link>|<number>", link, account, broker, text}`;
 *  `trading` (GET /api/trading's) marks the links staff did not enable. */
export function accountChoices(accounts, trading = null) {
  const enabled = new Map();
  for (const l of (trading && Array.isArray(trading.links) ? trading.links : [])) enabled.set(Number(l.link), !!l.enabled);
  const out = [];
  for (const a of accounts.values()) {
    const link = num(a.link);
    if (link === null) continue;
    const name = [a.label, a.number].filter(Boolean).join(' ');
    const off = enabled.has(link) && !enabled.get(link);
    out.push({
      value: `${link}|${a.number}`, link, account: String(a.number), broker: String(a.broker || ''),
      text: `${a.broker || ''} · ${name}${off ? ' (trading not enabled)' : ''}`, enabled: !off,
    });
  }
  return out.sort((x, y) => (x.text < y.text ? -1 : x.text > y.text ? 1 : 0));
}

/** The account a new ticket starts with: the one given (a position's own), else the only
 *  one there is; several and none given: none (never a default across brokers). */
export function startingAccount(choices, own = null) {
  if (own) return choices.find((c) => c.link === num(own.link) && c.account === String(own.account)) || null;
  return choices.length === 1 ? choices[0] : null;
}

/** What the form offers for `broker` and the draft's legs: {orderTypes, timesInForce,
 *  error} — `error` a sentence when the broker does not take the order at all. Stops are
 *  offered for one leg only; no broker chosen yet: Limit and Market. */
export function brokerOffers(broker, legs) {
  const rules = BROKER_RULES[String(broker || '').toLowerCase()];
  if (!rules) return { orderTypes: ['Limit', 'Market'], timesInForce: ['Day', 'GTC'], error: null, fractional: false };
  const option = legs.some((l) => isOptionSymbol(l.symbol));
  const error = legs.length > rules.maxLegs ? `${broker} does not take multi-leg orders here: choose a tastytrade or Tradier account.` : null;
  const types = (option ? rules.optionTypes : rules.stockTypes).filter((t) => legs.length <= 1 || !ONE_LEG_TYPES.has(t));
  const fractional = rules.fractional && !option && legs.length === 1;
  return { orderTypes: types, timesInForce: (option ? rules.optionTif : rules.stockTif).slice(), error, fractional };
}

/** The linked orders each broker takes (the contract's "Linked orders"): of options too,
 *  on a Market trigger, with one time in force for every member. */
export const LINKED_RULES = {
  tastytrade: { options: true, marketTrigger: true },
  tradier: { options: true, marketTrigger: false },
  alpaca: { options: false, marketTrigger: true },
};

/** Whether the ticket offers exits (a take-profit, a stop-loss) with this order: one leg
 *  at a broker that links orders of it; an opening order (a bracket) as a Limit, or a
 *  Market where the broker takes one as a trigger; `protect`: the exits are the order. */
export function exitsOffered(broker, legs, orderType, protect = false) {
  const rules = LINKED_RULES[String(broker || '').toLowerCase()];
  if (!rules || legs.length !== 1) return false;
  if (isOptionSymbol(legs[0].symbol) && !rules.options) return false;
  if (protect) return true;
  if (!OPENING.has(legs[0].action)) return false;
  return orderType === 'Limit' || (orderType === 'Market' && rules.marketTrigger);
}

/** An opening action and the action that closes what it opens. */
const OPENING = new Map([['Buy to Open', 'Sell to Close'], ['Sell to Open', 'Buy to Close']]);

/** The fields an order type takes (the form shows only those): {price, stop, trail,
 *  quantity, dollars} (a Notional Market order has a dollar amount instead of a quantity). */
export const typeFields = (orderType) => ({
  price: PRICED_TYPES.has(orderType), stop: STOP_TYPES.has(orderType), trail: orderType === 'Trailing Stop',
  quantity: orderType !== NOTIONAL, dollars: orderType === NOTIONAL,
});

// ------------------------------------------------------------------ drafts (one per entry point)

/** A draft: what the ticket opens with. `account`: {link, account} or null (to choose);
 *  `accountFixed`: the account may not change (Close…, Replace…). */
function draft({ title, legs, account = null, accountFixed = false, orderType = 'Limit', price = null, stopPrice = null, trail = null, tif = 'Day', replaces = null }) {
  return { title, legs, account, accountFixed, order_type: orderType, price, stop_price: stopPrice, trail, time_in_force: tif, replaces };
}

const positionSymbol = (p) => (isOptionSymbol(p.streamer_symbol) ? p.streamer_symbol : String(p.symbol));
/** A position's whole quantity, exactly (part of a share stays a part: Close… closes it all). */
const positionQty = (p) => Math.abs(num(p.quantity) || 0);

/** A position's Trade… (the same instrument; adds in its own direction, 1 to start) or
 *  Close… (the opposite action for the whole quantity, in the position's own account). */
export function fromPosition(position, acct, quote, mode) {
  const symbol = positionSymbol(position);
  const short = position.direction === 'Short';
  const own = { link: num(acct.link), account: String(acct.number) };
  if (mode === 'close') {
    const legs = [{ symbol, action: short ? 'Buy to Close' : 'Sell to Close', quantity: positionQty(position) }];
    return draft({ title: `Close ${symbol}`, legs, account: own, accountFixed: true, price: prefillPrice(legs, quote) });
  }
  const legs = [{ symbol, action: short ? 'Sell to Open' : 'Buy to Open', quantity: 1 }];
  return draft({ title: `Trade ${symbol}`, legs, account: own, price: prefillPrice(legs, quote) });
}

/** A position's Protect…: a take-profit, a stop-loss or both (an OCO) that close the whole
 *  position, in its own account; the trader gives the prices. */
export function protectPosition(position, acct) {
  const symbol = positionSymbol(position);
  const short = position.direction === 'Short';
  const legs = [{ symbol, action: short ? 'Buy to Close' : 'Sell to Close', quantity: positionQty(position) }];
  const own = { link: num(acct.link), account: String(acct.number) };
  return { ...draft({ title: `Protect ${symbol}`, legs, account: own, accountFixed: true, tif: 'GTC' }), protect: true };
}

/** Why a broker cannot roll here (a sentence), or null: a roll is one multi-leg order. */
export function rollRefusal(broker) {
  const rules = BROKER_RULES[String(broker || '').toLowerCase()];
  if (rules && rules.maxLegs > 1) return null;
  const name = BROKER_NAMES[String(broker || '').toLowerCase()] || broker || 'This broker';
  return `${name} takes no multi-leg orders here: roll by closing this option, then opening the later one.`;
}

/** An option position's Roll…: close it and open the same strike at a later expiration, as
 *  one two-leg order (its price the net mid, prefilled once both legs quote). `expirations`:
 *  the underlying's listed dates (YYYY-MM-DD); the next four after the position's are offered,
 *  `to` (else the next) chosen. {error} when there is none. */
export function rollDraft(position, acct, expirations, to = null) {
  const symbol = positionSymbol(position);
  const parts = optionParts(symbol);
  if (!parts) return { error: `${symbol} is not an option: there is nothing to roll.` };
  const current = `20${parts.yy}-${String(parts.mm).padStart(2, '0')}-${parts.dd}`;
  const later = [...new Set(expirations)].filter((d) => d > current).sort().slice(0, 4);
  if (!later.length) return { error: `No expiration of ${parts.root} after ${current} is listed: there is nothing to roll to.` };
  const target = later.includes(to) ? to : later[0];
  const [y, m, d] = target.split('-');
  const next = `.${parts.root}${y.slice(2)}${m}${d}${parts.right}${parts.strike}`;
  const short = position.direction === 'Short';
  const quantity = positionQty(position);
  const legs = [
    { symbol, action: short ? 'Buy to Close' : 'Sell to Close', quantity },
    { symbol: next, action: short ? 'Sell to Open' : 'Buy to Open', quantity },
  ];
  const own = { link: num(acct.link), account: String(acct.number) };
  return { ...draft({ title: `Roll ${symbol}`, legs, account: own, accountFixed: true }), roll: { from: current, to: target, choices: later } };
}

/** A symbol's ticket (a watchlist row, the risk graph's underlying): buy 1 at the ask; the
 *  account is chosen by the trader (the only one, if there is one). */
export function fromSymbol(symbol, quote, choices) {
  const legs = [{ symbol, action: 'Buy to Open', quantity: 1 }];
  const only = startingAccount(choices);
  return draft({ title: `Trade ${symbol}`, legs, account: only && { link: only.link, account: only.account }, price: prefillPrice(legs, quote) });
}

/** A chain cell: the bid sells (Sell to Open at the bid), the ask buys (Buy to Open at the ask). */
export function fromChainCell(symbol, side, quote, choices) {
  const legs = [{ symbol, action: side === 'bid' ? 'Sell to Open' : 'Buy to Open', quantity: 1 }];
  const only = startingAccount(choices);
  return draft({ title: `Trade ${symbol}`, legs, account: only && { link: only.link, account: only.account }, price: prefillPrice(legs, quote) });
}

/** The brokers' own action words (Tradier's and Alpaca's sides) in the contract's. */
const BROKER_ACTIONS = {
  buy: 'Buy to Open', sell: 'Sell to Close', sell_short: 'Sell to Open', buy_to_cover: 'Buy to Close',
  buy_to_open: 'Buy to Open', sell_to_close: 'Sell to Close', sell_to_open: 'Sell to Open', buy_to_close: 'Buy to Close',
};
const contractAction = (a) => (ACTIONS.includes(a) ? a : BROKER_ACTIONS[String(a || '').toLowerCase()] || String(a));

/** An order frame's type as a ticket sends it: the contract's words or a broker's own
 *  (`stop_limit`, `trailing_stop`, `market`); Limit for the rest (a `Marketable Limit`,
 *  Tradier's net `debit`/`credit`: a limit at its price). */
export function contractOrderType(type) {
  const words = String(type || '').toLowerCase().replace(/[\s_-]+/g, ' ').trim();
  return ORDER_TYPES.find((t) => t.toLowerCase() === words) || 'Limit';
}

/** A trailing stop's trail from its frame (`{amount, percent, high_water_mark}`, numbers)
 *  as the body spells it: `{amount: "1.50"}` on the grid, or `{percent: "2.5"}`; else null. */
function trailOf(trail, symbol) {
  const amount = num(trail && trail.amount);
  if (amount !== null && amount > 0) return { amount: roundToTick(symbol, amount) };
  const percent = num(trail && trail.percent);
  return percent !== null && percent > 0 ? { percent: String(percent) } : null;
}

/** A working order's Replace…: its account, its legs (the quantity still open) in the
 *  contract's words (an order frame carries each broker's own: OCC symbols, `buy_to_open`,
 *  `limit`, `gtc`), its type, price, stop price, trail and time in force. A trailing stop's
 *  frame `stop_price` is where its stop stands now, not what the trader sends: not kept. */
export function fromOrder(order, link, account) {
  const legs = (order.legs || []).map((l) => {
    const rem = num(l.remaining_quantity);
    return {
      symbol: normalizeSymbol(l.symbol) || String(l.symbol),
      action: contractAction(l.action),
      quantity: Math.trunc(rem !== null && rem > 0 ? rem : num(l.quantity) || 1),
    };
  });
  const price = num(order.price);
  const stop = num(order.stop_price);
  const type = contractOrderType(order.order_type);
  const symbol = legs[0] ? legs[0].symbol : '';
  return draft({
    title: `Replace order ${order.id}`, legs, account: { link: num(link), account: String(account) }, accountFixed: true,
    orderType: type,
    price: price === null ? null : roundToTick(symbol, Math.abs(price), legs.length),
    stopPrice: STOP_TYPES.has(type) && stop !== null ? roundToTick(symbol, Math.abs(stop)) : null,
    trail: type === 'Trailing Stop' ? trailOf(order.trail, symbol) : null,
    tif: String(order.time_in_force || '').toLowerCase() === 'gtc' ? 'GTC' : 'Day', replaces: String(order.id),
  });
}

/** A strategy's option legs (`GET /api/risk/strategies`' legs: `kind` call or put). */
const optionLegs = (strategy) => (strategy.legs || []).filter((l) => l.kind === 'call' || l.kind === 'put');

/** Whether the strategies table offers Close… for `strategy` in an account at `broker`:
 *  {offered, why, stockStays}. Close… closes the strategy's option legs in one order (no
 *  broker here takes stock and options in one order: a covered call's shares stay, and are
 *  closed from their position's row); none → not offered (stock alone: the position's own
 *  Close…); more option legs than the broker takes in one order → offered: false, `why`
 *  says it (Alpaca takes no multi-leg orders; at most 4 legs elsewhere). */
export function strategyCloseOffer(strategy, broker) {
  const legs = optionLegs(strategy);
  const stockStays = legs.length < (strategy.legs || []).length;
  if (!legs.length) return { offered: false, why: null, stockStays };
  const rules = BROKER_RULES[String(broker || '').toLowerCase()];
  if (!rules) return { offered: false, why: 'The account\'s broker is not known yet.', stockStays };
  if (legs.length > rules.maxLegs) {
    const name = BROKER_NAMES[String(broker).toLowerCase()];
    const why = rules.maxLegs === 1
      ? `${name} takes no multi-leg orders: close each leg from its position's row.`
      : `${name} takes at most ${rules.maxLegs} legs in one order: close the legs from their positions' rows.`;
    return { offered: false, why, stockStays };
  }
  return { offered: true, why: null, stockStays };
}

/** A strategy's Close… (the strategies table on /risk): one ticket with every option leg,
 *  each leg's opposite closing action (Sell to Close a long leg, Buy to Close a short one)
 *  for its whole quantity in the strategy, the strategy's own link and account fixed, a
 *  limit at the legs' net mid. `acct`: the stream's account (its link; its positions spell
 *  each leg's streamer symbol); null when the account is not on the stream. */
export function fromStrategy(strategy, acct, quote) {
  if (!acct) return null;
  const legs = optionLegs(strategy).map((l) => {
    const p = acct.positions && acct.positions.get(l.symbol);
    const symbol = (p && isOptionSymbol(p.streamer_symbol) && p.streamer_symbol) || normalizeSymbol(l.symbol) || String(l.symbol);
    const qty = num(l.quantity) || 0;
    return { symbol, action: qty < 0 ? 'Buy to Close' : 'Sell to Close', quantity: Math.abs(Math.trunc(qty)) };
  });
  if (!legs.length) return null;
  return draft({
    title: `Close ${strategy.name} ${strategy.underlying} (${strategy.account})`, legs,
    account: { link: num(acct.link), account: String(acct.number) }, accountFixed: true,
    price: prefillPrice(legs, quote),
  });
}

// ------------------------------------------------------------------ the order body

/** A Trailing Stop's trail from the form ({amount: text} or {percent: text}) as the body
 *  spells it, or {error: sentence}: one of the two, an amount on the grid, a percent more
 *  than 0 and less than 100. */
function trailBody(trail, symbol) {
  const given = TRAIL_UNITS.filter((u) => trail && String(trail[u] ?? '').trim() !== '');
  if (!given.length) return { error: 'A trailing stop needs a trail: an amount in dollars (e.g. 1.50) or a percent (e.g. 2.5).' };
  if (given.length > 1) return { error: 'A trail is an amount or a percent, not both.' };
  const text = String(trail[given[0]]).trim();
  if (given[0] === 'amount') {
    const problem = priceProblem(symbol, text, 1, 'trail amount');
    return problem ? { error: problem } : { trail: { amount: text } };
  }
  if (!isPositiveDecimal(text)) return { error: 'The trail percent must be a positive number, e.g. 2.5.' };
  if (Number(text) >= 100) return { error: 'The trail percent must be less than 100.' };
  return { trail: { percent: text } };
}

/** The body of `POST /api/orders/preview` from the form's values, or {error: sentence}.
 *  values: {account: {link, account} | null, legs, order_type, price (text), stop_price
 *  (text), trail ({amount: text} | {percent: text} | null), time_in_force, replaces}. A
 *  single leg's action and quantity are the form's. The body always has `price`,
 *  `stop_price` and `trail`: null where the type takes none. */
export function orderBody(values) {
  if (values.protect) return protectBody(values);
  const made = singleBody(values);
  if (made.error || !values.exits) return made;
  const exits = exitOrders(made.body, values.exits);
  if (exits.error) return exits;
  if (!exits.orders.length) return made;
  const { link, account, replaces, ...trigger } = made.body;
  return {
    body: {
      link, account, complex: exits.orders.length === 2 ? 'OTOCO' : 'OTO', trigger, orders: exits.orders,
    },
  };
}

/** The exits given (`{take, stop}`: price texts, either empty) as orders that close
 *  what `order` opens, in its time in force: [take-profit Limit, stop-loss Stop]. */
function exitOrders(order, exits) {
  const leg = order.legs[0];
  const closing = OPENING.get(leg.action) || leg.action;
  const legs = [{ symbol: leg.symbol, action: closing, quantity: leg.quantity }];
  const orders = [];
  const take = String(exits.take ?? '').trim();
  const stop = String(exits.stop ?? '').trim();
  const base = { legs, price: null, stop_price: null, trail: null, time_in_force: order.time_in_force };
  if (take) {
    const problem = priceProblem(leg.symbol, take, 1, 'take-profit price');
    if (problem) return { error: problem };
    orders.push({ ...base, order_type: 'Limit', price: take });
  }
  if (stop) {
    const problem = priceProblem(leg.symbol, stop, 1, 'stop-loss price');
    if (problem) return { error: problem };
    orders.push({ ...base, order_type: 'Stop', stop_price: stop });
  }
  return { orders };
}

/** Protect…: the take-profit and the stop-loss given, as one order or an OCO of both. */
function protectBody(values) {
  if (!values.account) return { error: 'Choose the account to trade in.' };
  const leg = values.legs[0];
  const quantity = quantityOf(leg.quantity, !!values.fractional);
  if (quantity.error) return quantity;
  const order = { legs: [{ symbol: leg.symbol, action: leg.action, quantity: quantity.quantity }], time_in_force: values.time_in_force };
  const exits = exitOrders(order, values.exits || {});
  if (exits.error) return exits;
  const where = { link: values.account.link, account: values.account.account };
  if (!exits.orders.length) return { error: 'Give a take-profit price, a stop-loss price, or both.' };
  if (exits.orders.length === 1) return { body: { ...where, ...exits.orders[0], replaces: null } };
  return { body: { ...where, complex: 'OCO', orders: exits.orders } };
}

/** A typed quantity as the body carries it: a whole number as a number; a part of a share
 *  (where the broker takes one: `fractional`) as its exact decimal string. {quantity} or
 *  {error: sentence}. */
export function quantityOf(text, fractional) {
  const q = String(text ?? '').trim();
  if (!fractional) {
    if (!/^[0-9]+$/.test(q) || Number(q) < 1 || Number(q) > MAX_QUANTITY) {
      return { error: `The quantity must be a whole number from 1 to ${MAX_QUANTITY.toLocaleString('en-US')}.` };
    }
    return { quantity: Number(q) };
  }
  const match = /^([0-9]+)(?:\.([0-9]*[1-9])?0*)?$/.exec(q);
  if (!match || !(Number(q) > 0) || Number(q) > MAX_QUANTITY || (match[2] || '').length > MAX_QUANTITY_PLACES) {
    return { error: `The quantity must be more than 0 and at most ${MAX_QUANTITY.toLocaleString('en-US')}, with at most ${MAX_QUANTITY_PLACES} decimals.` };
  }
  const whole = String(Number(match[1]));
  return { quantity: match[2] ? `${whole}.${match[2]}` : Number(whole) };
}

/** A dollar amount as the body carries it ("250.50"), or {error: sentence}. */
function dollarsOf(text) {
  const s = String(text ?? '').trim();
  if (!s) return { error: 'A notional market order needs a dollar amount, e.g. 250.00.' };
  if (!isPositiveDecimal(s)) return { error: 'The dollar amount must be a positive number, e.g. 250.00.' };
  if ((s.split('.')[1] || '').replace(/0+$/, '').length > 2) return { error: `The dollar amount is in cents: ${s} is not.` };
  if (Number(s) < 1) return { error: 'The dollar amount must be at least 1.00.' };
  return { notional: Number(s).toFixed(2) };
}

function singleBody(values) {
  if (!values.account) return { error: 'Choose the account to trade in.' };
  const type = values.order_type;
  const legs = [];
  for (const leg of values.legs) {
    if (!ACTIONS.includes(leg.action)) return { error: `Choose an action: ${ACTIONS.join(', ')}.` };
    if (type === NOTIONAL) { // a dollar amount: the broker sizes it
      legs.push({ symbol: leg.symbol, action: leg.action });
      continue;
    }
    const quantity = quantityOf(leg.quantity, !!values.fractional && values.legs.length === 1);
    if (quantity.error) return quantity;
    legs.push({ symbol: leg.symbol, action: leg.action, quantity: quantity.quantity });
  }
  if (!ORDER_TYPES.includes(type)) return { error: 'Choose an order type: Limit, Market, Stop, Stop Limit, Trailing Stop or Notional Market.' };
  if (ONE_LEG_TYPES.has(type) && legs.length > 1) {
    return { error: `A ${type.toLowerCase()} order has one leg: an order of ${legs.length} legs is a Limit or a Market.` };
  }
  const symbol = legs.length ? legs[0].symbol : '';
  const fields = typeFields(type);
  let price = null;
  let stopPrice = null;
  let trail = null;
  if (fields.price) {
    const problem = priceProblem(symbol, values.price, legs.length);
    if (problem) return { error: problem };
    price = String(values.price).trim();
  }
  if (fields.stop) {
    const text = String(values.stop_price ?? '').trim();
    if (!text) return { error: `A ${type.toLowerCase()} order needs a stop price (its trigger).` };
    const problem = priceProblem(symbol, text, 1, 'stop price');
    if (problem) return { error: problem };
    stopPrice = text;
  }
  if (fields.trail) {
    const made = trailBody(values.trail, symbol);
    if (made.error) return { error: made.error };
    trail = made.trail;
  }
  let dollars = {};
  if (fields.dollars) {
    const made = dollarsOf(values.notional);
    if (made.error) return { error: made.error };
    dollars = { notional: made.notional };
  }
  return {
    body: {
      link: values.account.link, account: values.account.account, legs, order_type: type, price,
      stop_price: stopPrice, trail, ...dollars, time_in_force: values.time_in_force, replaces: values.replaces ?? null,
    },
  };
}

// ------------------------------------------------------------------ preview, confirm

/** Whole seconds left of a preview (`expires_at` ms) at `now` (server ms), never below 0. */
export const secondsLeft = (expiresAt, now) => Math.max(0, Math.ceil((num(expiresAt) - now) / 1000));

export function countdownText(expiresAt, now) {
  const s = secondsLeft(expiresAt, now);
  return s > 0 ? `Expires in ${s} s.` : 'The preview expired: preview again.';
}

/** One Idempotency-Key per preview: a resend of the same preview's confirm reuses it. */
export function createConfirmKeys(randomUUID) {
  const keys = new Map();
  return {
    keyFor(previewId) {
      if (!keys.has(previewId)) keys.set(previewId, randomUUID());
      return keys.get(previewId);
    },
  };
}

/** Whether a preview's confirm takes a second click: a stop that would trigger at once
 *  (its `second_confirm`; the confirm then says `"second_confirm": true`). */
export const needsSecondConfirm = (preview) => !!(preview && preview.second_confirm);

/** What the ticket says once the first Confirm armed the second. */
export const SECOND_CONFIRM_TEXT = 'This stop would trigger at once, as soon as it is placed: Confirm anyway to place it, or change it and preview again.';

/** A preview's warnings to show: [{text, strong}] — `strong` the one a second confirm is
 *  for (it says the stop would trigger at once; every warning when none says so). */
export function previewWarnings(preview) {
  const list = (preview && Array.isArray(preview.warnings) ? preview.warnings : []).map(String);
  const second = needsSecondConfirm(preview);
  const atOnce = list.findIndex((w) => /trigger at once/i.test(w));
  return list.map((text, i) => ({ text, strong: second && (atOnce < 0 || i === atOnce) }));
}

/** The codes a new preview answers (the old one is too old, or the quote moved). */
export const REPREVIEW_CODES = new Set(['preview_expired', 'quote_moved']);
/** The codes /trading answers (turn trading on, or have staff enable the link). */
export const TRADING_PAGE_CODES = new Set(['second_factor', 'trading_disabled']);

/** An error answer's sentence (the server's `error`; else one that says what happened). */
export function refusalText(status, body, doing) {
  if (body && typeof body.error === 'string' && body.error) return body.error;
  if (status === 0) return `The server cannot be reached: ${doing}.`;
  if (status === 403) return 'You are not logged in (or the page is too old): reload it.';
  return `${doing.charAt(0).toUpperCase()}${doing.slice(1)} (HTTP ${status}).`;
}

// ------------------------------------------------------------------ following the order

/** The placed order as the stream tells it (`orders`: the state's Map, keyed
 *  "<link>:<id>"): {status, filled, quantity, avgPrice, fills} or null before its frame. */
export function followOrder(orders, link, orderId) {
  if (orderId === null || orderId === undefined) return null;
  const o = orders.get(orderKey(orderId, link));
  if (!o) return null;
  let filled = 0;
  let quantity = 0;
  let paid = 0;
  const fills = [];
  for (const leg of o.legs || []) {
    quantity += num(leg.quantity) || 0;
    for (const f of leg.fills || []) {
      const q = num(f.quantity) || 0;
      const p = num(f.price);
      filled += q;
      if (p !== null) paid += q * p;
      fills.push({ quantity: q, price: p });
    }
  }
  return { status: String(o.status || ''), filled, quantity, avgPrice: filled ? paid / filled : null, fills };
}

/** The words of a followed order: "Live", "Filled 2 @ 2.35", "Partially Filled 1/2 @ 2.30". */
export function followText(f) {
  if (!f) return 'Waiting for the order on the stream…';
  if (!f.filled) return f.status;
  const avg = f.avgPrice === null ? '' : ` @ ${f.avgPrice.toFixed(f.avgPrice < 1 ? 4 : 2)}`;
  return f.filled >= f.quantity ? `${f.status} ${f.filled}${avg}` : `${f.status} ${f.filled}/${f.quantity}${avg}`;
}
