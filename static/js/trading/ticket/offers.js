/*
 * What a ticket offers, pure (docs/streaming-contract.md "The order": what each broker
 * takes, "Linked orders", "In the browser"): the accounts to choose from, and for the
 * chosen account's broker and the instrument's kind the order types, times in force, parts
 * of a unit, legs, exits (a bracket, Protect…) and Roll…, all read from one table (the
 * rules of streaming/instruments/rules.py, in static/js/stream/instruments.js): the form
 * never offers what the broker would refuse, and says in words what it does not offer.
 */
import { num } from '../../stream/contract.js';
import {
  BROKER_NAMES, KIND, KIND_WORDS, brokerTakes, fromPosition as instrumentOf, kindOf, parse, refusal,
} from '../../stream/instruments.js';

export { BROKER_NAMES };
export const ACTIONS = ['Buy to Open', 'Sell to Close', 'Sell to Open', 'Buy to Close'];
export const ORDER_TYPES = ['Limit', 'Market', 'Stop', 'Stop Limit', 'Trailing Stop', 'Notional Market'];
/** A dollar amount at market: the broker sizes it when it fills (no quantity). */
export const NOTIONAL = 'Notional Market';
/** The types that take a limit price, and those armed at a stop price (the contract's). */
export const PRICED_TYPES = new Set(['Limit', 'Stop Limit']);
export const STOP_TYPES = new Set(['Stop', 'Stop Limit']);
/** The types of one leg only (every stop: a multi-leg order is a Limit or a Market). */
export const ONE_LEG_TYPES = new Set(['Stop', 'Stop Limit', 'Trailing Stop', NOTIONAL]);
/** A trail is one of these: dollars or percent. */
export const TRAIL_UNITS = ['amount', 'percent'];
/** An opening action and the action that closes what it opens. */
export const OPENING = new Map([['Buy to Open', 'Sell to Close'], ['Sell to Open', 'Buy to Close']]);

const brokerKey = (broker) => String(broker || '').toLowerCase();
const nameOf = (broker) => BROKER_NAMES[brokerKey(broker)] || String(broker || '') || 'This broker';
/** The kind a leg's symbol names (a stock when it names none: the server says why). */
export const legKind = (leg) => {
  const it = leg ? parse(String(leg.symbol ?? '')) : null;
  return it ? it.kind : KIND.EQUITY;
};

/** The fields an order type takes (the form shows only those): {price, stop, trail,
 *  quantity, dollars} (a Notional Market order has a dollar amount instead of a quantity). */
export const typeFields = (orderType) => ({
  price: PRICED_TYPES.has(orderType), stop: STOP_TYPES.has(orderType), trail: orderType === 'Trailing Stop',
  quantity: orderType !== NOTIONAL, dollars: orderType === NOTIONAL,
});

/** The rules of each broker by the old names (of stock, of options): the same table. */
export const BROKER_RULES = Object.fromEntries(Object.keys(BROKER_NAMES).map((b) => {
  const stock = brokerTakes(b, KIND.EQUITY);
  const options = brokerTakes(b, KIND.EQUITY_OPTION);
  return [b, {
    stockTypes: stock.order_types, optionTypes: options.order_types, stockTif: stock.times_in_force,
    optionTif: options.times_in_force, maxLegs: options.max_legs, fractional: stock.fraction_places !== null,
  }];
}));

/**
 * What the form offers for `broker`, the draft's legs and (for its times in force) the
 * order type chosen: {orderTypes, timesInForce, places, fractional, error} — `places` the
 * decimals a quantity may have (0: whole units), `error` a sentence when the broker does not
 * take the order at all. Stops are offered for one leg only; a market order takes the
 * kind's market times in force (tastytrade: Day; a coin there IOC), a dollar amount of stock
 * the day. No broker chosen yet: Limit and Market.
 */
export function brokerOffers(broker, legs, orderType = null) {
  const b = brokerKey(broker);
  if (!BROKER_NAMES[b]) return { orderTypes: ['Limit', 'Market'], timesInForce: ['Day', 'GTC'], places: 0, fractional: false, error: null };
  const kind = legKind(legs[0]);
  const rules = brokerTakes(b, kind);
  if (!rules) return { orderTypes: [], timesInForce: [], places: 0, fractional: false, error: refusal(b, kind) };
  let error = null;
  if (legs.length > rules.max_legs) {
    error = kind === KIND.EQUITY_OPTION || kind === KIND.FUTURE_OPTION
      ? `${broker} does not take multi-leg orders here: choose a tastytrade or Tradier account.`
      : `${nameOf(b)} takes multi-leg orders of options only.`;
  } else if (legs.some((l) => legKind(l) !== kind)) {
    error = `${nameOf(b)} takes one kind of instrument in one order.`;
  }
  const orderTypes = rules.order_types.filter((t) => legs.length <= 1 || !ONE_LEG_TYPES.has(t));
  let timesInForce = rules.times_in_force;
  if (orderType === 'Market') timesInForce = rules.market_times_in_force;
  if (orderType === NOTIONAL && kind === KIND.EQUITY) timesInForce = ['Day'];
  const places = rules.fraction_places !== null && legs.length === 1 ? rules.fraction_places : 0;
  return { orderTypes, timesInForce: timesInForce.slice(), places, fractional: places > 0, error };
}

/** The sentences of the brokers among `choices` that take none of these legs (the ticket
 *  lists only the accounts that do, and says why the others are not there). */
export function unofferedBrokers(choices, legs) {
  const said = [];
  for (const c of choices) {
    const error = brokerOffers(c.broker, legs).error;
    if (error && !said.includes(error)) said.push(error);
  }
  return said;
}

/** The accounts a ticket may choose from, from the stream's state (`accounts`: number →
 *  {number, link, broker, label}): `{value: "<link>|<number>", link, account, broker, text}`
 *  — `text` the broker and the number first, then the label (`tradier · VA000001 · IRA`): a
 *  select narrower than the text (a phone's) cuts its end, and two accounts of one broker
 *  differ by their numbers; `trading` (GET /api/trading's) marks the links staff did not enable. */
export function accountChoices(accounts, trading = null) {
  const enabled = new Map();
  for (const l of (trading && Array.isArray(trading.links) ? trading.links : [])) enabled.set(Number(l.link), !!l.enabled);
  const out = [];
  for (const a of accounts.values()) {
    const link = num(a.link);
    if (link === null) continue;
    const name = [a.broker, a.number, a.label].filter(Boolean).join(' · ');
    const off = enabled.has(link) && !enabled.get(link);
    out.push({
      value: `${link}|${a.number}`, link, account: String(a.number), broker: String(a.broker || ''),
      text: `${name}${off ? ' (trading not enabled)' : ''}`, enabled: !off,
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

/** Whether a broker's linked orders start on a Market trigger (Tradier's: a Limit). */
const marketTrigger = (broker) => brokerKey(broker) !== 'tradier';
const whole = (q) => Number.isInteger(Math.abs(num(q) ?? 0));

/** Whether the ticket offers exits (a take-profit, a stop-loss) with this order: one leg
 *  at a broker that links orders of its kind (Alpaca: whole shares); an opening order (a
 *  bracket) as a Limit, or a Market where the broker takes one as a trigger; `protect`: the
 *  exits are the order. */
export function exitsOffered(broker, legs, orderType, protect = false) {
  if (legs.length !== 1) return false;
  const rules = brokerTakes(broker, legKind(legs[0]));
  if (!rules || !rules.linked) return false;
  if (brokerKey(broker) === 'alpaca' && !whole(legs[0].quantity)) return false;
  if (protect) return true;
  if (!OPENING.has(legs[0].action)) return false;
  return orderType === 'Limit' || (orderType === 'Market' && marketTrigger(broker));
}

/** The kind of a position (its broker's `instrument_type`, else its contract symbol's). */
const positionKind = (p) => {
  const it = instrumentOf(p);
  return it ? it.kind : kindOf(p && p.instrument_type) || (parse(String((p && p.streamer_symbol) || (p && p.symbol) || '')) || {}).kind || null;
};

/** Why a position's Protect… is not offered at its broker (a sentence), or null: its
 *  broker links orders of its kind (a coin's, an Alpaca option's: no; Alpaca: whole shares). */
export function protectRefusal(broker, position) {
  const kind = positionKind(position);
  const rules = kind ? brokerTakes(broker, kind) : null;
  if (!rules) return kind ? refusal(broker, kind) : `${nameOf(broker)} takes no orders of this kind here.`;
  if (!rules.linked) {
    const stop = rules.order_types.includes('Stop') ? 'Stop' : 'Stop Limit';
    return `${nameOf(broker)} takes no linked orders of ${KIND_WORDS[kind]}: protect it with a ${stop} from Trade….`;
  }
  if (brokerKey(broker) === 'alpaca' && !whole(position.quantity)) return 'Alpaca links orders of whole shares only.';
  return null;
}

/** Whether a position offers Roll… at its broker: an equity option (a future option is
 *  closed and opened by hand) at a broker that takes multi-leg orders of options (a roll is
 *  one order of two expirations; Alpaca takes single legs: no Roll…, rather than one offered
 *  and then refused). */
export function rollOffered(broker, position) {
  if (positionKind(position) !== KIND.EQUITY_OPTION) return false;
  const rules = brokerTakes(broker, KIND.EQUITY_OPTION);
  return !!rules && rules.max_legs > 1;
}

/** A strategy's option legs (`GET /api/risk/strategies`' legs: `kind` call or put). */
export const optionLegs = (strategy) => (strategy.legs || []).filter((l) => l.kind === 'call' || l.kind === 'put');

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
  const rules = BROKER_NAMES[brokerKey(broker)] ? brokerTakes(broker, KIND.EQUITY_OPTION) : null;
  if (!rules) return { offered: false, why: 'The account\'s broker is not known yet.', stockStays };
  if (legs.length > rules.max_legs) {
    const name = nameOf(broker);
    const why = rules.max_legs === 1
      ? `${name} takes no multi-leg orders: close each leg from its position's row.`
      : `${name} takes at most ${rules.max_legs} legs in one order: close the legs from their positions' rows.`;
    return { offered: false, why, stockStays };
  }
  return { offered: true, why: null, stockStays };
}

/** Whether the strategies table offers Roll… for `strategy` at `broker`: {offered, why}.
 *  Its option legs closed and as many opened: twice its option legs in one order, at a
 *  broker that takes that many (Alpaca takes one; tastytrade and Tradier four). */
export function strategyRollOffer(strategy, broker) {
  const legs = optionLegs(strategy);
  if (!legs.length) return { offered: false, why: null };
  const key = String(broker || '').toLowerCase();
  if (!BROKER_NAMES[key]) return { offered: false, why: 'The account\'s broker is not known yet.' };
  const rules = brokerTakes(key, KIND.EQUITY_OPTION);
  const name = BROKER_NAMES[key];
  if (!rules || rules.max_legs < 2) return { offered: false, why: `${name} takes no multi-leg orders: a roll is one order of two expirations.` };
  if (legs.length * 2 > rules.max_legs) {
    return { offered: false, why: `A roll of its ${legs.length} option legs is ${legs.length * 2} legs in one order; ${name} takes at most ${rules.max_legs}.` };
  }
  return { offered: true, why: null };
}
