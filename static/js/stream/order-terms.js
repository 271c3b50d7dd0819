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

/** The type, prices and time in force, in the order a trader reads them. */
export function orderTerms(o) {
  const parts = [];
  const u = o.unsupported;
  if (u) parts.push(`unsupported: ${u.name}`);
  if (!u || u.kind !== 'order_type') parts.push(o.order_type);
  const notional = num(o.notional);
  if (notional !== null) parts.push(`$${fmt.money(notional)}`);
  const price = num(o.price);
  if (price !== null) parts.push(fmt.price(price), o.price_effect);
  const stop = num(o.stop_price);
  if (stop !== null) parts.push(`stop ${fmt.price(stop)}`);
  parts.push(trailText(o.trail));
  if (!u || u.kind !== 'time_in_force') parts.push(o.time_in_force);
  if (o.time_in_force === 'GTD' && o.good_till) parts.push(o.good_till);
  if (o.extended_hours && !EXTENDED.has(o.time_in_force)) parts.push('ext hours');
  return parts.filter(present).join(' ');
}

/** A member of a linked order: its link's name and id and this member's role, or null. */
export function groupText(o) {
  const g = o.group;
  if (!g) return null;
  return `${CLASSES[g.class] || g.class} ${g.id} · ${ROLES[g.role] || g.role}`;
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
