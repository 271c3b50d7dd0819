/*
 * A ticket's draft from each entry point, pure (docs/streaming-contract.md "In the
 * browser"): a position's Trade…, Close…, Protect…, a roll picker's row, a watchlist row, a chain
 * cell, the risk graph's underlying, a working order's Replace… and a /risk strategy's
 * Close…. Every leg names its instrument by its contract symbol (a position's
 * `streamer_symbol`, never its broker `symbol`: Alpaca's `BTCUSD` is the coin), so the
 * quote the ticket shows and prefills from is the instrument's own; the title and the
 * legs' names are display names (`names`: contract symbol → display, `legName`).
 */
import { normalizeSymbol, num, optionParts } from '../../stream/contract.js';
import { displayOf, fromPosition as instrumentOf } from '../../stream/instruments.js';
import { ACTIONS, ORDER_TYPES, STOP_TYPES, optionLegs, startingAccount } from './offers.js';
import { midOf, prefillPrice, protectPrices, roundToTick } from './prices.js';

/** A draft: what the ticket opens with. `account`: {link, account} or null (to choose);
 *  `accountFixed`: the account may not change (Close…, Replace…); `names`: each leg's
 *  display name by its contract symbol. */
function draft({ title, legs, names = {}, account = null, accountFixed = false, orderType = 'Limit', price = null, stopPrice = null, trail = null, tif = 'Day', replaces = null }) {
  return { title, legs, names, account, accountFixed, order_type: orderType, price, stop_price: stopPrice, trail, time_in_force: tif, replaces };
}

/** The display name of a draft's leg (`symbol`: its contract symbol). */
export const legName = (d, symbol) => (d && d.names && d.names[symbol]) || displayOf(symbol);

/** A position's instrument as a ticket names it: {symbol (the contract's), display}. */
function positionInstrument(p) {
  const it = instrumentOf(p);
  if (it) return { symbol: it.symbol, display: it.display };
  const symbol = normalizeSymbol(p.streamer_symbol) || normalizeSymbol(p.symbol) || String(p.symbol);
  return { symbol, display: String(p.display || displayOf(symbol)) };
}
/** A position's whole quantity, exactly (part of a share or a coin stays a part: Close…
 *  closes it all). */
const positionQty = (p) => Math.abs(num(p.quantity) || 0);
const ownAccount = (acct) => ({ link: num(acct.link), account: String(acct.number) });

/** A position's Trade… (the same instrument; adds in its own direction, 1 to start) or
 *  Close… (the opposite action for the whole quantity, in the position's own account). */
export function fromPosition(position, acct, quote, mode) {
  const { symbol, display } = positionInstrument(position);
  const short = position.direction === 'Short';
  const names = { [symbol]: display };
  if (mode === 'close') {
    const legs = [{ symbol, action: short ? 'Buy to Close' : 'Sell to Close', quantity: positionQty(position) }];
    return draft({ title: `Close ${display}`, legs, names, account: ownAccount(acct), accountFixed: true, price: prefillPrice(legs, quote) });
  }
  const legs = [{ symbol, action: short ? 'Sell to Open' : 'Buy to Open', quantity: 1 }];
  return draft({ title: `Trade ${display}`, legs, names, account: ownAccount(acct), price: prefillPrice(legs, quote) });
}

/** A position's Protect…: a take-profit, a stop-loss or both (an OCO) that close the whole
 *  position, in its own account. Both start from its mark (`mark`: the mid of its own live
 *  quote, else the broker's `mark_price`; `exits`: prices.js `protectPrices`), the trader's
 *  to change. */
export function protectPosition(position, acct, quote = () => undefined) {
  const { symbol, display } = positionInstrument(position);
  const short = position.direction === 'Short';
  const legs = [{ symbol, action: short ? 'Buy to Close' : 'Sell to Close', quantity: positionQty(position) }];
  const mark = num(position.mark_price);
  return {
    ...draft({ title: `Protect ${display}`, legs, names: { [symbol]: display }, account: ownAccount(acct), accountFixed: true, tif: 'GTC' }),
    protect: true, mark, exits: protectPrices(legs[0], midOf(quote(symbol)) ?? mark),
  };
}

/** A roll picker's row (docs/streaming-contract.md "The roll picker"): ONE multi-leg ticket
 *  of the row's legs, the order's (the position's legs closed, then the new ones opened),
 *  each at its own quantity, in the position's account (fixed); a Limit at the row's net per
 *  unit on the net grid (unsigned: the legs say credit or debit), or none (the ticket
 *  prefills the net mid) when the net is unknown or even. `what`: the position as the title
 *  names it (its display name, a strategy's name). */
export function fromRollRow(answer, row, what) {
  const names = {};
  const legs = (row.legs || []).map((l) => {
    const symbol = normalizeSymbol(l.symbol) || String(l.symbol);
    names[symbol] = displayOf(symbol);
    return { symbol, action: String(l.action), quantity: Math.abs(num(l.quantity) || 0) };
  });
  const position = answer.position || {};
  const net = num(row.net);
  return draft({
    title: `Roll ${what} to ${row.expiration}`, legs, names,
    account: { link: num(position.link), account: String(position.account) }, accountFixed: true,
    price: net === null || !legs.length ? null : roundToTick(legs[0].symbol, Math.abs(net), legs.length),
  });
}

/** A symbol's ticket (a watchlist row, the risk graph's underlying): buy 1 at the ask; the
 *  account is chosen by the trader (the only one, if there is one). */
export function fromSymbol(raw, quote, choices) {
  const symbol = normalizeSymbol(raw) || String(raw);
  const legs = [{ symbol, action: 'Buy to Open', quantity: 1 }];
  const only = startingAccount(choices);
  const display = displayOf(symbol);
  return draft({ title: `Trade ${display}`, legs, names: { [symbol]: display }, account: only && { link: only.link, account: only.account }, price: prefillPrice(legs, quote) });
}

/** A chain cell: the bid sells (Sell to Open at the bid), the ask buys (Buy to Open at the ask). */
export function fromChainCell(raw, side, quote, choices) {
  const symbol = normalizeSymbol(raw) || String(raw);
  const legs = [{ symbol, action: side === 'bid' ? 'Sell to Open' : 'Buy to Open', quantity: 1 }];
  const only = startingAccount(choices);
  const display = displayOf(symbol);
  return draft({ title: `Trade ${display}`, legs, names: { [symbol]: display }, account: only && { link: only.link, account: only.account }, price: prefillPrice(legs, quote) });
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

const TIMES = { day: 'Day', gtc: 'GTC', ioc: 'IOC' };

/** A working order's Replace…: its account, its legs (the quantity still open, exactly: a
 *  coin's 0.25 stays 0.25) by their contract symbols, in the contract's words (an order
 *  frame carries each broker's own: OCC symbols, `buy_to_open`, `limit`, `gtc`), its type,
 *  price, stop price, trail and time in force. A trailing stop's frame `stop_price` is
 *  where its stop stands now, not what the trader sends: not kept. */
export function fromOrder(order, link, account) {
  const names = {};
  const legs = (order.legs || []).map((l) => {
    const rem = num(l.remaining_quantity);
    const symbol = normalizeSymbol(l.streamer_symbol) || normalizeSymbol(l.symbol) || String(l.symbol);
    names[symbol] = l.display || displayOf(symbol);
    return { symbol, action: contractAction(l.action), quantity: Math.abs(rem !== null && rem > 0 ? rem : num(l.quantity) || 1) };
  });
  const price = num(order.price);
  const stop = num(order.stop_price);
  const type = contractOrderType(order.order_type);
  const symbol = legs[0] ? legs[0].symbol : '';
  const what = order.display || (legs.length === 1 ? names[symbol] : '');
  return draft({
    title: `Replace order ${order.id}${what ? ` (${what})` : ''}`, legs, names, account: { link: num(link), account: String(account) }, accountFixed: true,
    orderType: type,
    price: price === null ? null : roundToTick(symbol, Math.abs(price), legs.length),
    stopPrice: STOP_TYPES.has(type) && stop !== null ? roundToTick(symbol, Math.abs(stop)) : null,
    trail: type === 'Trailing Stop' ? trailOf(order.trail, symbol) : null,
    tif: TIMES[String(order.time_in_force || '').toLowerCase()] || 'Day', replaces: String(order.id),
  });
}

/** A strategy's Close… (the strategies table on /risk): one ticket with every option leg,
 *  each leg's opposite closing action (Sell to Close a long leg, Buy to Close a short one)
 *  for its whole quantity in the strategy, the strategy's own link and account fixed, a
 *  limit at the legs' net mid. `acct`: the stream's account (its link; its positions spell
 *  each leg's streamer symbol); null when the account is not on the stream. */
export function fromStrategy(strategy, acct, quote) {
  if (!acct) return null;
  const names = {};
  const legs = optionLegs(strategy).map((l) => {
    const p = acct.positions && acct.positions.get(l.symbol);
    const symbol = (p && optionParts(p.streamer_symbol) && p.streamer_symbol) || normalizeSymbol(l.symbol) || String(l.symbol);
    names[symbol] = (p && p.display) || displayOf(symbol);
    const qty = num(l.quantity) || 0;
    return { symbol, action: qty < 0 ? 'Buy to Close' : 'Sell to Close', quantity: Math.abs(Math.trunc(qty)) };
  });
  if (!legs.length) return null;
  return draft({
    title: `Close ${strategy.name} ${strategy.underlying} (${strategy.account})`, legs, names,
    account: ownAccount(acct), accountFixed: true,
    price: prefillPrice(legs, quote),
  });
}
