/*
 * The strategies list's rows from `GET /api/risk/strategies` (pure): each strategy's cells
 * as the server renders them at load (streaming/risk/page/rows.py `strategy_rows`: the
 * same texts, so a refresh never changes how a value reads), and the key of the positions
 * that decides when the list is asked again.
 */

import { DASH, oddsCells } from '../stream/odds.js';
import { fmtNumber } from '../stream/format.js';

// the odds' texts live in stream/odds.js (the dashboard and the ticket show them too)
export { halfUp, inputsText, oddsCells, percent, positionsKey } from '../stream/odds.js';


const extreme = (v) => (v === 'unlimited' ? 'unlimited' : fmtNumber(typeof v === 'number' ? v : null));

/**
 * A number's shortest exact decimal, never in exponent form: 1e-7 → "0.0000001" (as
 * streaming/risk/names.py `quantity_text` reads Python's repr).
 */
function plainDecimal(v) {
  const text = String(v);
  const m = /^(\d)(?:\.(\d+))?e([+-])(\d+)$/.exec(text);
  if (!m) return text;
  const digits = m[1] + (m[2] || '');
  const exp = Number(m[4]);
  if (m[3] === '-') return `0.${'0'.repeat(exp - 1)}${digits}`;
  return digits + '0'.repeat(Math.max(0, exp - digits.length + 1));
}

/** A quantity exactly as held, en-US grouping, signed: "+2", "-1,000", "+0.25". */
export function signedQty(q) {
  const [whole, part] = plainDecimal(Math.abs(q)).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${q < 0 ? '-' : '+'}${grouped}${part ? `.${part}` : ''}`;
}

/** One strategy (`Strategy.as_dict()` and its odds) as the list's cells. */
export function strategyCells(s) {
  const g = s.greeks || {};
  return {
    name: s.name,
    underlying: s.display || s.underlying,
    account: s.account,
    legs: (s.legs || []).map((l) => `${signedQty(l.quantity)} ${l.display || l.symbol}`).join(', '),
    expirations: (s.expirations || []).join(', ') || DASH,
    delta: fmtNumber(g.delta, 1, true),
    theta: fmtNumber(g.theta, 2, true),
    vega: fmtNumber(g.vega, 2, true),
    net: s.net === null || s.net === undefined ? DASH : `${fmtNumber(Math.abs(s.net))} ${s.net_kind}`,
    max_profit: extreme(s.max_profit),
    max_loss: extreme(s.max_loss),
    breakevens: s.breakevens && s.breakevens.length ? s.breakevens.map((b) => fmtNumber(b)).join(', ') : DASH,
    ...oddsCells(s),
  };
}
