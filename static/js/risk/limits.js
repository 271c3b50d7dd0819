/*
 * The /risk page's limits row, live: the user's β-weighted delta band and daily loss limit
 * (server-rendered first by streaming/risk/page/rows.py `limits_line`, its sentences the
 * same) with the values the stream's owner evaluates them on (docs/streaming-contract.md
 * "Portfolio limits"): the portfolio's β-weighted delta by the exposure rules
 * (static/js/stream/exposure.js) and the USD day P&L by the portfolio totals' rules
 * (static/js/stream/totals.js), unknown while that total is partial.
 */
import { num } from '../stream/contract.js';
import { portfolioBetaDelta } from '../stream/exposure.js';
import { portfolioTotals } from '../stream/totals.js';
import { fmtNumber } from '../stream/format.js';

/** The currency the daily loss limit watches (streaming/risk/limits/runner.py CURRENCY). */
const CURRENCY = 'USD';

/** The day P&L the daily loss limit is evaluated on: the USD total, null when partial or none. */
export function limitDayPnl(state) {
  const group = portfolioTotals(state).groups.find((g) => g.currency === CURRENCY);
  const t = group ? group.day_pnl : null;
  return t && !t.partial && t.have ? t.value : null;
}

/** [state, sentence] of the β-weighted delta against the band (page/rows.py `band_status`). */
export function bandStatus(value, low, high) {
  if (low === null && high === null) return ['off', 'no band set'];
  if (value === null) return ['unknown', 'β-weighted delta unknown: the band is not evaluated'];
  if (high !== null && value > high) return ['above', `above the band by ${fmtNumber(value - high, 1)} SPY shares`];
  if (low !== null && value < low) return ['below', `below the band by ${fmtNumber(low - value, 1)} SPY shares`];
  const room = Math.min(...[low, high].filter((e) => e !== null).map((e) => Math.abs(e - value)));
  return ['inside', `inside, ${fmtNumber(room, 1)} SPY shares from the edge`];
}

/** [state, sentence] of the day P&L against the daily loss limit (page/rows.py `loss_status`). */
export function lossStatus(dayPnl, limit) {
  if (limit === null) return ['off', 'no daily loss limit'];
  if (dayPnl === null) return ['unknown', 'day P&L unknown (a price or close missing): not evaluated'];
  if (dayPnl <= -limit) return ['outside', `past the limit by ${fmtNumber(-limit - dayPnl)} $`];
  return ['inside', `${fmtNumber(dayPnl + limit)} $ before the limit`];
}

let drawn = {};

/** (stream/render/dom.js's `setText`: that module needs a window; this one runs under node too.) */
function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

function status(el, [state, sentence]) {
  if (!el) return;
  el.setAttribute('data-state', state);
  setText(el, sentence);
}

/** Redraw the row's values and where they stand (when quotes, greeks, metrics or positions moved). */
export function renderLimits(doc, state, now) {
  const row = doc.getElementById('risk-limits');
  if (!row || row.getAttribute('data-set') !== 'true') return;
  if (drawn.quotes === state.quotes && drawn.greeks === state.greeks && drawn.metrics === state.metrics && drawn.accounts === state.accounts) return;
  drawn = { quotes: state.quotes, greeks: state.greeks, metrics: state.metrics, accounts: state.accounts };
  const bd = portfolioBetaDelta(state, now);
  const pnl = limitDayPnl(state);
  const limit = (name) => num(row.getAttribute(name));
  setText(row.querySelector('[data-field="beta_delta"]'), fmtNumber(bd, 1, true));
  setText(row.querySelector('[data-field="day_pnl"]'), fmtNumber(pnl, 2, true));
  status(row.querySelector('[data-field="band_status"]'), bandStatus(bd, limit('data-beta-delta-min'), limit('data-beta-delta-max')));
  status(row.querySelector('[data-field="loss_status"]'), lossStatus(pnl, limit('data-daily-loss')));
}
