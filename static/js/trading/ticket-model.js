/*
 * The order ticket's rules, pure (docs/streaming-contract.md "Trading …", "In the browser"):
 * a ticket's draft from each entry point (a position's Trade…/Close…, a watchlist row, a
 * chain cell, the risk graph's underlying, a working order's Replace…), the price from the
 * live quote on the contract's tick grid, what each broker takes (so the form offers no
 * more), the order body the server reads, the preview's countdown, one Idempotency-Key per
 * preview, and the order's status and fills read back from the stream's state. No DOM, no
 * clock: the ticket (ticket.js, ticket-flow.js) passes the time and the state in.
 */
import { normalizeSymbol, num, optionParts, orderKey } from '../stream/contract.js';

export const ACTIONS = ['Buy to Open', 'Sell to Close', 'Sell to Open', 'Buy to Close'];
export const MAX_QUANTITY = 1000000;
/** Underlyings whose options trade in pennies throughout. */
export const PENNY_ROOTS = new Set(['SPY', 'QQQ', 'IWM']);

/** What each broker takes (and the form offers nothing more): order types, times in force
 *  (for stock, for options), and multi-leg orders. */
export const BROKER_RULES = {
  tastytrade: { orderTypes: ['Limit', 'Market'], stockTif: ['Day', 'GTC'], optionTif: ['Day', 'GTC'], maxLegs: 4 },
  tradier: { orderTypes: ['Limit', 'Market'], stockTif: ['Day', 'GTC'], optionTif: ['Day', 'GTC'], maxLegs: 4 },
  alpaca: { orderTypes: ['Limit', 'Market'], stockTif: ['Day', 'GTC'], optionTif: ['Day'], maxLegs: 1 },
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

/** Whether a price the trader typed is a positive decimal on the grid (a sentence if not). */
export function priceProblem(symbol, text, legCount = 1) {
  const s = String(text || '').trim();
  if (!/^[0-9]+(\.[0-9]+)?$/.test(s) || !(Number(s) > 0)) return 'The price must be a positive number, e.g. 2.35.';
  const tick = tickOf(symbol, Number(s), legCount);
  const places = decimalsOf(tick);
  const [, frac = ''] = s.split('.');
  const scaled = Math.round(Number(s) * 10 ** Math.max(places, frac.length));
  const step = Math.round(Number(tick) * 10 ** Math.max(places, frac.length));
  if (scaled % step === 0) return null;
  const what = legCount > 1 ? 'a multi-leg net price moves' : `${symbol} trades`;
  return `The price ${s} is off the tick grid: ${what} in steps of ${tick} at that price.`;
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
 *  error} — `error` a sentence when the broker does not take the order at all. */
export function brokerOffers(broker, legs) {
  const rules = BROKER_RULES[String(broker || '').toLowerCase()];
  if (!rules) return { orderTypes: ['Limit', 'Market'], timesInForce: ['Day', 'GTC'], error: null };
  const option = legs.some((l) => isOptionSymbol(l.symbol));
  const error = legs.length > rules.maxLegs ? `${broker} does not take multi-leg orders here: choose a tastytrade or Tradier account.` : null;
  return { orderTypes: rules.orderTypes.slice(), timesInForce: (option ? rules.optionTif : rules.stockTif).slice(), error };
}

// ------------------------------------------------------------------ drafts (one per entry point)

/** A draft: what the ticket opens with. `account`: {link, account} or null (to choose);
 *  `accountFixed`: the account may not change (Close…, Replace…). */
function draft({ title, legs, account = null, accountFixed = false, orderType = 'Limit', price = null, tif = 'Day', replaces = null }) {
  return { title, legs, account, accountFixed, order_type: orderType, price, time_in_force: tif, replaces };
}

const positionSymbol = (p) => (isOptionSymbol(p.streamer_symbol) ? p.streamer_symbol : String(p.symbol));
const positionQty = (p) => Math.abs(Math.trunc(num(p.quantity) || 0));

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

/** A working order's Replace…: its legs (the quantity still open), type, price and time in
 *  force, in its own account, `replaces` its id. `link`, `account`: the order's. */
/** The brokers' own action words (Tradier's and Alpaca's sides) in the contract's. */
const BROKER_ACTIONS = {
  buy: 'Buy to Open', sell: 'Sell to Close', sell_short: 'Sell to Open', buy_to_cover: 'Buy to Close',
  buy_to_open: 'Buy to Open', sell_to_close: 'Sell to Close', sell_to_open: 'Sell to Open', buy_to_close: 'Buy to Close',
};
const contractAction = (a) => (ACTIONS.includes(a) ? a : BROKER_ACTIONS[String(a || '').toLowerCase()] || String(a));

/** A working order's Replace…: its account, its legs (the quantity still open) in the
 *  contract's words (an order frame carries each broker's own: OCC symbols, `buy_to_open`,
 *  `limit`, `gtc`), its type, price and time in force. */
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
  const type = String(order.order_type || '').toLowerCase();
  return draft({
    title: `Replace order ${order.id}`, legs, account: { link: num(link), account: String(account) }, accountFixed: true,
    orderType: type === 'market' ? 'Market' : 'Limit',
    price: price === null ? null : roundToTick(legs[0] ? legs[0].symbol : '', Math.abs(price), legs.length),
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

/** The body of `POST /api/orders/preview` from the form's values, or {error: sentence}.
 *  values: {account: {link, account} | null, legs, order_type, price (text), time_in_force,
 *  replaces}. A single leg's action and quantity are the form's. */
export function orderBody(values) {
  if (!values.account) return { error: 'Choose the account to trade in.' };
  const legs = [];
  for (const leg of values.legs) {
    const q = String(leg.quantity).trim();
    if (!/^[0-9]+$/.test(q) || Number(q) < 1 || Number(q) > MAX_QUANTITY) {
      return { error: `The quantity must be a whole number from 1 to ${MAX_QUANTITY.toLocaleString('en-US')}.` };
    }
    if (!ACTIONS.includes(leg.action)) return { error: `Choose an action: ${ACTIONS.join(', ')}.` };
    legs.push({ symbol: leg.symbol, action: leg.action, quantity: Number(q) });
  }
  let price = null;
  if (values.order_type === 'Limit') {
    const problem = priceProblem(legs.length ? legs[0].symbol : '', values.price, legs.length);
    if (problem) return { error: problem };
    price = String(values.price).trim();
  } else if (values.order_type !== 'Market') {
    return { error: 'Choose Limit or Market.' };
  }
  return {
    body: {
      link: values.account.link, account: values.account.account, legs, order_type: values.order_type, price,
      time_in_force: values.time_in_force, replaces: values.replaces ?? null,
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
