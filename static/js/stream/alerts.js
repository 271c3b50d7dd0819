/*
 * Price alerts in the browser (docs/streaming-contract.md "Price alerts"): pure functions,
 * no DOM. What an alert says in words, how far the price is from its level (with the same
 * price basis as the server: the last trade, else the bid/ask mid), and the form's values
 * as the API's body (checked here only for what the browser knows; the server decides).
 */
import { num } from './contract.js';
import { fromWallTime } from './times.js';

export const CONDITIONS = ['above', 'below', 'move_up', 'move_down'];
export const PERCENT_CONDITIONS = new Set(['move_up', 'move_down']);

/** The price alerts compare: the last trade, else the mid; null without one. */
export function alertPrice(quote) {
  if (!quote) return null;
  const last = num(quote.last);
  if (last !== null && last > 0) return last;
  const bid = num(quote.bid);
  const ask = num(quote.ask);
  return bid !== null && ask !== null && bid > 0 && ask > 0 ? (bid + ask) / 2 : null;
}

const money = (v) => (Math.abs(v) < 1 ? v.toFixed(4) : v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));

/** "above 200.00", "up 5.00% from the previous close". */
export function conditionText(alert) {
  const level = num(alert.level);
  if (level === null) return alert.condition;
  switch (alert.condition) {
    case 'above': return `above ${money(level)}`;
    case 'below': return `below ${money(level)}`;
    case 'move_up': return `up ${level.toFixed(2)}% from the previous close`;
    case 'move_down': return `down ${level.toFixed(2)}% from the previous close`;
    default: return `${alert.condition} ${level}`;
  }
}

/**
 * Where the price is against the alert's level: {price, text}. For a price level the
 * distance in price and percent ("+1.30 (+0.65%) to go" or "reached"); for a % move the
 * move now against the level. `text` is "—" without a quote.
 */
export function alertDistance(alert, quote) {
  const price = alertPrice(quote);
  const level = num(alert.level);
  if (price === null || level === null) return { price: null, text: '—' };
  if (alert.condition === 'above' || alert.condition === 'below') {
    const gap = level - price;
    const reached = alert.condition === 'above' ? gap <= 0 : gap >= 0;
    if (reached) return { price, text: 'reached' };
    const sign = gap > 0 ? '+' : '−';
    return { price, text: `${sign}${money(Math.abs(gap))} (${sign}${(Math.abs(gap) / price * 100).toFixed(2)}%) to go` };
  }
  const prev = num(quote.prev_close);
  if (prev === null || prev <= 0) return { price, text: 'no previous close' };
  const move = (price - prev) / prev * 100;
  const target = alert.condition === 'move_up' ? level : -level;
  const reached = alert.condition === 'move_up' ? move >= target : move <= target;
  const moveText = `${move >= 0 ? '+' : '−'}${Math.abs(move).toFixed(2)}%`;
  return { price, text: reached ? `${moveText}: reached` : `${moveText} now, ${Math.abs(target - move).toFixed(2)} pts to go` };
}

/** A `datetime-local` value read in the zone the page shows (times.js), as a Date. */
const inZoneShown = (v) => new Date(fromWallTime(v) ?? Number.NaN);

/**
 * The form's fields as the API's body, or {error} for what the browser can already tell
 * (an empty symbol or level). `expires` is a `datetime-local` value, typed in the zone the
 * page shows (the trader's, New York's unless chosen; the field names it): sent as ISO with
 * its zone, so the server stores the right instant.
 */
export function alertBody({ symbol, condition, level, rearm, expires }, toDate = inZoneShown) {
  const sym = String(symbol || '').trim().toUpperCase();
  if (!sym) return { error: 'Enter a symbol.' };
  if (!CONDITIONS.includes(condition)) return { error: 'Choose a condition.' };
  const text = String(level ?? '').trim();
  if (!text) return { error: PERCENT_CONDITIONS.has(condition) ? 'Enter the % move.' : 'Enter a price.' };
  const body = { symbol: sym, condition, level: text, rearm: !!rearm, expires_at: null };
  if (expires) {
    const when = toDate(expires);
    if (Number.isNaN(when.getTime())) return { error: 'The expiry is not a date and time.' };
    body.expires_at = when.toISOString();
  }
  return { body };
}

/** The sentence of an API error answer (`{error}`), or a fallback naming the status. */
export function errorSentence(status, answer) {
  if (answer && typeof answer.error === 'string' && answer.error) {
    const text = answer.error.charAt(0).toUpperCase() + answer.error.slice(1);
    return /[.!?]$/.test(text) ? text : `${text}.`;
  }
  if (status === 403) return 'You are not logged in (or the page is too old): reload it.';
  return `The alert could not be saved (HTTP ${status}).`;
}
