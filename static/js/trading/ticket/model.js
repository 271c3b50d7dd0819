/*
 * The order ticket's own rules, pure (docs/streaming-contract.md "Trading …", "In the
 * browser"): which symbols a ticket trades, the preview's countdown and its second confirm,
 * one Idempotency-Key per preview, the refusals' sentences and what they offer, and the
 * order's status and fills read back from the stream's state. No DOM, no clock: the ticket
 * passes the time and the state in. Its other rules are the modules beside it: what each
 * broker offers for each kind of instrument (offers.js), each instrument's tick grid and the
 * price from its own live quote (prices.js), a draft from each entry point (drafts.js), the
 * order body the server reads (body.js).
 */
import { num, orderKey } from '../../stream/contract.js';
import { parse } from '../../stream/instruments.js';
import { ROLES } from '../../stream/order-terms.js';
import { ROLE_ORDER } from '../../stream/orders.js';

/** Whether a symbol names an equity option (its streamer symbol). */
export const isOptionSymbol = (symbol) => {
  const it = parse(String(symbol ?? ''));
  return !!it && it.kind === 'Equity Option';
};
/** A symbol a ticket can trade: the contract symbol of an instrument (a stock, an option, a
 *  future, a future option, a coin: `BTC/USD:CXTALP`, not its spelling `BTC/USD`). */
export const tradable = (symbol) => {
  const it = parse(String(symbol ?? ''));
  return !!it && it.symbol === symbol;
};

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

/** Whether a preview's confirm takes a second click: the server asks it (`second_confirm`:
 *  a price far from the instrument's live price, a stop that would trigger at once; the
 *  confirm then says `"second_confirm": true`). */
export const needsSecondConfirm = (preview) => !!(preview && preview.second_confirm);

/** What the ticket says once the first Confirm armed the second. */
export const SECOND_CONFIRM_TEXT = 'Read the warning above: Confirm anyway to place the order as it is, or change it and preview again.';

/** The warnings that ask for the second confirm (the price guard's): a price far from the
 *  live price, a stop that would trigger at once. */
const ASKS_SECOND = /trigger at once|check it before you confirm/i;

/** A preview's warnings to show, as the server sends them: [{text, strong}] — `strong` the
 *  ones a second confirm is for (every warning when none says which). */
export function previewWarnings(preview) {
  const list = (preview && Array.isArray(preview.warnings) ? preview.warnings : []).map(String);
  const second = needsSecondConfirm(preview);
  const asking = list.some((w) => ASKS_SECOND.test(w));
  return list.map((text) => ({ text, strong: second && (!asking || ASKS_SECOND.test(text)) }));
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

/** An order's status and fills as the stream tells it: {status, filled, quantity, avgPrice, fills}. */
function followed(o) {
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

/** The placed order as the stream tells it (`orders`: the state's Map, keyed
 *  "<link>:<id>"): {status, filled, quantity, avgPrice, fills} or null before its frame. */
export function followOrder(orders, link, orderId) {
  if (orderId === null || orderId === undefined) return null;
  const o = orders.get(orderKey(orderId, link));
  return o ? followed(o) : null;
}

/** The words of a followed order: "Live", "Filled 2 @ 2.35", "Partially Filled 1/2 @ 2.30". */
export function followText(f) {
  if (!f) return 'Waiting for the order on the stream…';
  if (!f.filled) return f.status;
  const avg = f.avgPrice === null ? '' : ` @ ${f.avgPrice.toFixed(f.avgPrice < 1 ? 4 : 2)}`;
  return f.filled >= f.quantity ? `${f.status} ${f.filled}${avg}` : `${f.status} ${f.filled}/${f.quantity}${avg}`;
}

/** How many orders a ticket's order places: a linked order's members (its trigger and its
 *  orders: an OCO 2, a bracket 3), else 1. */
export const placedCount = (order) => (order && order.complex
  ? (order.trigger ? 1 : 0) + (Array.isArray(order.orders) ? order.orders.length : 0)
  : 1);

const roleRank = (o) => {
  const i = ROLE_ORDER.indexOf(o.group.role);
  return i < 0 ? ROLE_ORDER.length : i;
};
const roleWords = (role) => {
  const w = ROLES[role] || String(role || 'member');
  return w.charAt(0).toUpperCase() + w.slice(1);
};

/** What a ticket placed, as the stream tells it: `{status, filled, text}` for the
 *  ticket's `[data-ticket-order-status]`. A linked order's ticket carries the group's id
 *  (tastytrade's complex order, Tradier's parent: no order of their own; Alpaca's parent,
 *  one member): it follows every order of the link whose `group.id` is that id, in the
 *  panel's role order ("Take profit: Live · Stop loss: Live"), and counts those of the
 *  `count` placed that are not on the stream yet. `status`, `filled`: each order's, joined
 *  by " · "; null before the first frame. */
export function followTicket(orders, link, orderId, count = 1) {
  if (orderId === null || orderId === undefined) return { status: null, filled: null, text: followText(null) };
  const prefix = `${link}:`;
  const members = [];
  for (const [key, o] of orders) {
    if (key.startsWith(prefix) && o.group && String(o.group.id) === String(orderId)) members.push(o);
  }
  if (!members.length) {
    const f = followOrder(orders, link, orderId);
    return { status: f ? f.status : null, filled: f ? String(f.filled) : null, text: followText(f) };
  }
  members.sort((a, b) => roleRank(a) - roleRank(b) || (String(a.id) < String(b.id) ? -1 : 1));
  const each = members.map(followed);
  const missing = count - members.length;
  const words = members.map((o, i) => `${roleWords(o.group.role)}: ${followText(each[i])}`);
  if (missing > 0) words.push(`${missing} more not on the stream yet`);
  return { status: each.map((f) => f.status).join(' · '), filled: each.map((f) => String(f.filled)).join(' · '), text: words.join(' · ') };
}
