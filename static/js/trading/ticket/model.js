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
