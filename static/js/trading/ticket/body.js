/*
 * The body of `POST /api/orders/preview` from a ticket's form, pure (docs/streaming-contract.md
 * "The order", "Linked orders"): a single order, an order with its exits (an OTO or a
 * bracket), or Protect…'s exits alone (one order or an OCO); every price on its instrument's
 * tick grid, a quantity whole or with the decimals its broker takes of its kind (a coin's
 * 0.25 stays 0.25), a dollar amount in cents. Every refusal is a sentence.
 */
import {
  ACTIONS, NOTIONAL, ONE_LEG_TYPES, OPENING, ORDER_TYPES, TRAIL_UNITS, typeFields,
} from './offers.js';
import { isPositiveDecimal, priceProblem } from './prices.js';

export const MAX_QUANTITY = 1000000;
/** Parts of a unit: Alpaca's 9 decimals (the finest any broker takes). */
export const MAX_QUANTITY_PLACES = 9;

/** The decimals a form's quantity may have: `places` (the broker's, by kind), else the
 *  old flag `fractional` (Alpaca's 9). */
const placesOf = (values) => (Number.isInteger(values.places) ? values.places : values.fractional ? MAX_QUANTITY_PLACES : 0);

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
 *  (text), trail ({amount: text} | {percent: text} | null), time_in_force, replaces,
 *  places (the decimals a quantity may have)}. A single leg's action and quantity are the
 *  form's. The body always has `price`, `stop_price` and `trail`: null where the type takes
 *  none. */
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
  const quantity = quantityOf(leg.quantity, placesOf(values));
  if (quantity.error) return quantity;
  const order = { legs: [{ symbol: leg.symbol, action: leg.action, quantity: quantity.quantity }], time_in_force: values.time_in_force };
  const exits = exitOrders(order, values.exits || {});
  if (exits.error) return exits;
  const where = { link: values.account.link, account: values.account.account };
  if (!exits.orders.length) return { error: 'Give a take-profit price, a stop-loss price, or both.' };
  if (exits.orders.length === 1) return { body: { ...where, ...exits.orders[0], replaces: null } };
  return { body: { ...where, complex: 'OCO', orders: exits.orders } };
}

/** A typed quantity as the body carries it: a whole number as a number; a part of a unit
 *  (where the broker takes one: `places` decimals, or `true` for its 9) as its exact decimal
 *  string. {quantity} or {error: sentence}. */
export function quantityOf(text, places) {
  const most = places === true ? MAX_QUANTITY_PLACES : Number(places) || 0;
  const q = String(text ?? '').trim();
  if (!most) {
    if (!/^[0-9]+$/.test(q) || Number(q) < 1 || Number(q) > MAX_QUANTITY) {
      return { error: `The quantity must be a whole number from 1 to ${MAX_QUANTITY.toLocaleString('en-US')}.` };
    }
    return { quantity: Number(q) };
  }
  const match = /^([0-9]+)(?:\.([0-9]*[1-9])?0*)?$/.exec(q);
  if (!match || !(Number(q) > 0) || Number(q) > MAX_QUANTITY || (match[2] || '').length > most) {
    return { error: `The quantity must be more than 0 and at most ${MAX_QUANTITY.toLocaleString('en-US')}, with at most ${most} decimals.` };
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
    const quantity = quantityOf(leg.quantity, values.legs.length === 1 ? placesOf(values) : 0);
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
