/*
 * An order's terms in words, as the broker holds them (docs/streaming-contract.md,
 * "Objects": order): its type with its limit, stop, trail or dollar amount, its time in
 * force with its date, and the linked order it belongs to; each leg's side, quantity and
 * display name, how much of it filled and each fill. An order the app does not know says so
 * ("unsupported: <the broker's name>") rather than pass for another. A quantity the broker
 * did not send (a dollar order before it fills) is left out, never shown as 0. Pure.
 */
import { num } from './contract.js';
import { displayName, fmt } from './format.js';
import { displayOf } from './instruments.js';

/** A linked order's member's role as a trader reads it. */
export const ROLES = { trigger: 'entry', take_profit: 'take profit', stop_loss: 'stop loss', member: 'member' };
const CLASSES = { oco: 'OCO', oto: 'OTO', otoco: 'OTOCO', bracket: 'Bracket' };
const EXTENDED = new Set(['Ext', 'Ext Overnight', 'GTC Ext', 'GTC Ext Overnight', 'Pre', 'Post']);

const present = (x) => x !== null && x !== undefined && x !== '';

/** The trail of a trailing stop: `trail $0.50` or `trail 2%`, with where its stop and high stand. */
function trailText(trail) {
  if (!trail) return null;
  const amount = num(trail.amount);
  const percent = num(trail.percent);
  const hwm = num(trail.high_water_mark);
  const size = amount !== null ? `$${fmt.price(amount)}` : percent !== null ? `${percent}%` : null;
  return [size !== null ? `trail ${size}` : 'trail', hwm !== null ? `high ${fmt.price(hwm)}` : null].filter(present).join(' · ');
}

/** The types armed at a trigger, and the name their trigger follows: `Stop 390.60`. */
const STOP_NAMES = { Stop: 'Stop', 'Stop Limit': 'Stop', 'Trailing Stop': 'Trailing Stop' };

/** The type, prices and time in force, in the order a trader reads them: a stop's trigger
 *  right after its type's name, the word once (`Stop 390.60 GTC`, `Stop 390.60, limit
 *  390.00 Credit GTC`, `Trailing Stop 97.50 trail 2.5% · high 100.00 Day`). */
export function orderTerms(o) {
  const parts = [];
  const u = o.unsupported;
  if (u) parts.push(`unsupported: ${u.name}`);
  const typed = !u || u.kind !== 'order_type';
  const price = num(o.price);
  const stop = num(o.stop_price);
  const stopName = typed && stop !== null ? STOP_NAMES[o.order_type] : undefined;
  if (stopName) parts.push(`${stopName} ${fmt.price(stop)}${price !== null ? ',' : ''}`);
  else if (typed) parts.push(o.order_type);
  const notional = num(o.notional);
  if (notional !== null) parts.push(`$${fmt.money(notional)}`);
  if (price !== null) parts.push(stopName ? `limit ${fmt.price(price)}` : fmt.price(price), o.price_effect);
  if (stop !== null && !stopName) parts.push(`stop ${fmt.price(stop)}`);
  parts.push(trailText(o.trail));
  if (!u || u.kind !== 'time_in_force') parts.push(o.time_in_force);
  if (o.time_in_force === 'GTD' && o.good_till) parts.push(o.good_till);
  if (o.extended_hours && !EXTENDED.has(o.time_in_force)) parts.push('ext hours');
  return parts.filter(present).join(' ');
}

/** A linked order by what it holds: its class as the broker names it (and `noun`), its
 *  underlying and (`size`: the orders of the group known) how many orders: `OCO on AAPL: 2
 *  orders`, `OCO group on AAPL`. */
export function groupName(o, size = null, noun = '') {
  const g = o.group;
  const und = underlyingText(o);
  const count = size === null || size === undefined ? '' : `: ${size} order${size === 1 ? '' : 's'}`;
  return `${CLASSES[g.class] || g.class}${noun ? ` ${noun}` : ''}${und ? ` on ${und}` : ''}${count}`;
}

/** A member of a linked order: its link by what it holds and this member's role
 *  (`OTOCO on MSFT: 3 orders · stop loss`), or null. Its id is no words: the title. */
export function groupText(o, size = null) {
  const g = o.group;
  if (!g) return null;
  return `${groupName(o, size)} · ${ROLES[g.role] || g.role}`;
}

/** A leg: its side, quantity and display name (`Buy to Open 100 AAPL`, `sell 0.25 BTC/USD`;
 *  no quantity: `buy AAPL`); the broker's own symbol is the title the panel gives it. */
export function legText(leg) {
  const qty = num(leg.quantity);
  return [leg.action, qty !== null ? fmt.qty(qty) : null, displayName(leg)].filter(present).join(' ');
}

/** An order's underlying as a trader reads it: its contract symbol's display name
 *  (`BTC/USD:CXTALP` → `BTC/USD`, `/ESZ26:XCME` → `/ES Dec 26`), else as it came. */
export const underlyingText = (o) => displayOf(o.underlying ?? '');

/** How much of a leg filled, by its fills (`60/100 filled`), or null when nothing did. An
 * order that ended unfilled has nothing left to fill, and still filled nothing. */
export function legFilledText(leg) {
  const filled = (leg.fills || []).reduce((sum, f) => sum + (num(f.quantity) || 0), 0);
  if (!(filled > 0)) return null;
  const qty = num(leg.quantity);
  return qty !== null ? `${fmt.qty(filled)}/${fmt.qty(qty)} filled` : `${fmt.qty(filled)} filled`;
}

/** One fill: `filled 60 @ 190.25`. */
export function fillText(f) {
  return `filled ${fmt.qty(num(f.quantity))} @ ${fmt.price(num(f.price))}`;
}
