/*
 * The market overview's numbers, as pure functions (no DOM, no clock): last, change and
 * change % of a quote against its previous close, their text, and the heat level that
 * colours a tile. A value that cannot be computed is `null` and shows "—", never 0.
 * streaming/overview/service.py computes the same for the server-rendered page.
 */
import { num } from './contract.js';
import { DASH, fmt } from './format.js';

/** The user's list when they never saved one (streaming/overview/service.py DEFAULT_OVERVIEW). */
export const DEFAULT_OVERVIEW = ['SPY', 'QQQ', 'IWM', 'DIA', 'VIX', 'GLD', 'TLT', 'EEM', 'XLF', 'XLE'];

/** The change % at which a tile is one step more green (or red), up to 5 steps. */
export const HEAT_STEPS = [0.05, 0.5, 1, 2, 3];

const round6 = (v) => Math.round(v * 1e6) / 1e6;

/** {last, prevClose, change, changePct} of a quote; change = last - prev_close. */
export function tileValues(q) {
  const last = q ? num(q.last) : null;
  const prevClose = q ? num(q.prev_close) : null;
  const change = last !== null && prevClose !== null ? round6(last - prevClose) : null;
  const changePct = change !== null && prevClose > 0 ? round6(((last - prevClose) / prevClose) * 100) : null;
  return { last, prevClose, change, changePct };
}

/** "+0.36%", "-4.97%", "0.00%"; "—" for null. */
export function fmtPct(v) {
  if (v === null || v === undefined) return DASH;
  const text = Math.abs(v).toFixed(2);
  if (Number(text) === 0) return '0.00%';
  return `${v > 0 ? '+' : '-'}${text}%`;
}

/** A tile's text: last (price), change (signed, cents) and change %. */
export function tileText(v) {
  return {
    last: v.last === null ? DASH : fmt.money(v.last),
    change: v.change === null ? DASH : fmt.pnl(v.change), // signed; never "-0.00"
    changePct: fmtPct(v.changePct),
  };
}

/** -5..5: how strongly a tile is green (+) or red (-); 0 flat; null unknown. */
export function heatLevel(pct) {
  if (pct === null || pct === undefined) return null;
  const size = Math.abs(pct);
  const level = HEAT_STEPS.filter((step) => size >= step).length;
  return level === 0 ? 0 : pct > 0 ? level : -level;
}

/** The tile in words (its aria-label and title): the direction is said, not only coloured. */
export function tileLabel(symbol, v) {
  if (v.last === null && v.change === null) return `${symbol}, no quote yet`;
  const t = tileText(v);
  if (v.change === null) return `${symbol} ${t.last}, change unknown (no previous close)`;
  const dir = v.change > 0 ? `up ${t.change.slice(1)}` : v.change < 0 ? `down ${t.change.slice(1)}` : 'unchanged';
  return `${symbol} ${t.last}, ${dir} (${t.changePct})`;
}
