/*
 * The portfolio totals panel (#totals): one row per currency, redrawn from totals.js on
 * every render and re-marked every second (values age). The server renders the same rows
 * first (templates/streaming/dashboard.html, streaming/portfolio/totals.py); they are adopted.
 * A total that counted only some of its inputs is marked partial (`data-partial`, an
 * asterisk, and the row's note says "partial: 2 of 3 accounts have a balance"); one that
 * counted none shows "—"; a stale input greys it like any stale value (markCell).
 */
import { cellsOf, el, markCell, reconcileChildren, setAttr, setCell, setText } from './dom.js';
import { DASH, fmt } from '../format.js';
import { TOTAL_FIELDS, partialText, portfolioTotals, staleText } from '../totals.js';

export const TOTAL_LABELS = {
  net_liq: ['Net liq', 'Net liquidating value, all accounts'],
  day_pnl: ['Day P&L', 'Day P&L from the live marks, all positions'],
  open_pnl: ['Open P&L', 'Open P&L from the live marks, all positions'],
  buying_power: ['Buying power', 'Equity buying power, all accounts'],
  delta_shares: ['Δ shares', 'Portfolio delta in shares: option delta × quantity × multiplier × direction, 1 per share of stock'],
  delta_dollars: ['Δ $', 'Dollar delta: share delta × the underlying\'s live price'],
  theta: ['Θ $/day', 'Theta per day in money: theta × quantity × multiplier × direction'],
};

const FORMAT = {
  net_liq: fmt.money, buying_power: fmt.money, day_pnl: fmt.pnl, open_pnl: fmt.pnl,
  delta_shares: fmt.delta, delta_dollars: fmt.pnl, theta: fmt.pnl,
};
const SIGNED = new Set(['day_pnl', 'open_pnl', 'delta_shares', 'delta_dollars', 'theta']);

function buildGroup(currency) {
  return el('div', { class: 'totals-group', 'data-currency': currency },
    el('dl', { class: 'totals-row' },
      el('div', { class: 'tot tot-ccy' }, el('dt', null, 'Currency'), el('dd', { 'data-field': 'currency' }, currency)),
      ...TOTAL_FIELDS.map((f) => el('div', { class: 'tot' },
        el('dt', { title: TOTAL_LABELS[f][1] }, TOTAL_LABELS[f][0]),
        el('dd', { class: SIGNED.has(f) ? 'num pnl' : 'num', 'data-field': f }, DASH)))),
    el('p', { class: 'totals-note muted', 'data-field': 'note', hidden: true }));
}

/** `render(state, now)`: the panel for the state at server time `now` (values and marks). */
export function createTotalsView(doc) {
  const panel = doc.getElementById('totals');
  if (!panel) return { render: () => false };
  const container = panel.querySelector('#totals-groups');
  const uncounted = panel.querySelector('#totals-uncounted');
  const empty = panel.querySelector('#totals-empty');
  const groups = new Map(); // currency -> div
  for (const g of panel.querySelectorAll('[data-currency]')) groups.set(g.getAttribute('data-currency'), g);

  function render(state, now) {
    const totals = portfolioTotals(state, now);
    let delayed = false;
    const nodes = [];
    for (const t of totals.groups) {
      if (!groups.has(t.currency)) groups.set(t.currency, buildGroup(t.currency));
      const node = groups.get(t.currency);
      nodes.push(node);
      const cells = cellsOf(node);
      const n = t.accounts.length;
      setText(cells.currency, `${t.currency} · ${n} account${n === 1 ? '' : 's'}`);
      const notes = [];
      let stale = false;
      for (const f of TOTAL_FIELDS) {
        const v = t[f];
        setCell(cells[f], FORMAT[f](v.value), v.value, { signed: SIGNED.has(f) });
        setAttr(cells[f], 'data-partial', v.partial ? 'true' : null);
        setAttr(cells[f], 'data-have', `${v.have}/${v.of}`);
        const partial = partialText(f, v);
        if (partial) notes.push(`${TOTAL_LABELS[f][0]}: ${partial}`);
        const why = staleText(v);
        markCell(cells[f], v.stale > 0, v.delayed, [TOTAL_LABELS[f][1], partial, why].filter(Boolean).join(' · '));
        if (v.stale > 0) stale = true;
        if (v.delayed) delayed = true;
      }
      setAttr(node, 'data-stale', stale ? 'true' : 'false');
      setText(cells.note, notes.join(' · '));
      cells.note.hidden = !notes.length;
    }
    for (const c of Array.from(groups.keys())) if (!totals.groups.some((t) => t.currency === c)) groups.delete(c);
    if (container) reconcileChildren(container, nodes);
    if (uncounted) {
      uncounted.hidden = !totals.uncounted.length;
      setText(uncounted, totals.uncounted.length
        ? `Not totalled (currency unknown): ${totals.uncounted.map((a) => `${a.number} (${a.broker || 'unknown broker'})`).join(', ')}`
        : '');
    }
    if (empty) empty.hidden = totals.groups.length > 0;
    return delayed;
  }

  return { render };
}
