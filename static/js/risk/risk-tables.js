/*
 * The /risk page's tables, live: each underlying's price, each position's delta in
 * shares and β-weighted delta (SPY shares), their sums and the portfolio line, from the
 * stream's quotes and greeks; the server rendered them first (streaming/risk/page_rows.py,
 * the same rules as streaming/risk/exposure.py). β comes from the stream's `metrics`
 * when the state carries them, else the server-rendered `data-beta`. Kept in this one
 * module so the shared exposure rules (static/js/stream/exposure.js) can replace it.
 */
import { num, quoteStale } from '../stream/contract.js';
import { markCell, setText } from '../stream/dom.js';
import { quoteWhy } from '../stream/format.js';
import { betaDelta, positionDelta, quotePrice } from './risk-graph.js';

const DASH = '—';
const signed = (v, digits) => (v === null ? DASH : `${v >= 0 ? '+' : '−'}${Math.abs(v).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}`);
const plain = (v) => (v === null ? DASH : v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
const sum = (values) => (values.length && values.every((v) => v !== null) ? values.reduce((a, b) => a + b, 0) : null);

/** β of an underlying: the stream's metrics (a Map or an object), else the page's. */
function betaOf(state, underlying, fallback) {
  const m = state.metrics;
  const entry = m ? (typeof m.get === 'function' ? m.get(underlying) : m[underlying]) : null;
  const beta = entry ? num(entry.beta) : null;
  return beta !== null ? beta : num(fallback);
}

let drawn = { quotes: null, greeks: null, metrics: null };

/**
 * New positions or underlyings (a fill): the tables' rows as the server renders them now
 * (this page fetched again, its `#risk-tables` section parsed and swapped in; no
 * innerHTML), then their values live again from the stream. Returns whether it did.
 */
export async function reloadRows(doc, fetch, url) {
  const r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
  if (!r.ok) return false;
  const fresh = new DOMParser().parseFromString(await r.text(), 'text/html').getElementById('risk-tables');
  const old = doc.getElementById('risk-tables');
  if (!fresh || !old) return false;
  old.replaceWith(doc.importNode(fresh, true));
  drawn = { quotes: null, greeks: null, metrics: null }; // every value again
  return true;
}

/** Each price's staleness and age (every call: values age without frames). */
function markPrices(root, state, now) {
  for (const block of root.querySelectorAll('[data-risk-underlying]')) {
    const u = block.getAttribute('data-risk-underlying');
    const q = state.quotes.get(u);
    markCell(block.querySelector('[data-field="price"]'), quoteStale(q, now, state.freshness), !!(q && q.delayed), `${u} ${quoteWhy(q, now, state.freshness)}`);
  }
}

/** Redraw what the stream moved (values only when quotes, greeks or metrics changed). */
export function renderTables(doc, root, state, now) {
  markPrices(root, state, now);
  if (drawn.quotes === state.quotes && drawn.greeks === state.greeks && drawn.metrics === state.metrics) return;
  drawn = { quotes: state.quotes, greeks: state.greeks, metrics: state.metrics };
  const spy = quotePrice(state.quotes.get('SPY'));
  const totals = [];
  const dollars = [];
  for (const block of root.querySelectorAll('[data-risk-underlying]')) {
    const u = block.getAttribute('data-risk-underlying');
    const q = state.quotes.get(u);
    const price = quotePrice(q);
    const priceCell = block.querySelector('[data-field="price"]');
    const shownPrice = price !== null ? price : num(priceCell.getAttribute('data-value'));
    setText(priceCell, plain(shownPrice));
    if (price !== null) priceCell.setAttribute('data-value', String(price));
    const beta = betaOf(state, u, block.getAttribute('data-beta'));
    const deltas = [];
    const betas = [];
    for (const row of block.querySelectorAll('tr[data-risk-position]')) {
      const delta = positionDelta({
        qty: row.getAttribute('data-qty'), option: row.getAttribute('data-option') === 'true',
        multiplier: row.getAttribute('data-multiplier'), streamer: row.getAttribute('data-streamer'),
      }, state.greeks);
      const bd = betaDelta(beta, shownPrice, delta, spy);
      deltas.push(delta);
      betas.push(bd);
      setText(row.querySelector('[data-field="delta_shares"]'), signed(delta, 1));
      setText(row.querySelector('[data-field="beta_delta"]'), signed(bd, 1));
    }
    const bd = sum(betas);
    setText(block.querySelector('[data-field="delta"]'), signed(sum(deltas), 1));
    setText(block.querySelector('[data-field="beta_delta"]'), signed(bd, 1));
    setText(block.querySelector('[data-field="beta_delta_dollars"]'), signed(bd === null || !spy ? null : bd * spy, 0));
    totals.push(bd);
    dollars.push(bd === null || !spy ? null : bd * spy);
  }
  const line = doc.getElementById('risk-portfolio');
  if (!line) return;
  const total = totals.length ? sum(totals) : 0;
  const cell = line.querySelector('[data-field="portfolio_beta_delta"]');
  setText(cell, signed(total, 1));
  cell.setAttribute('data-value', total === null ? '' : String(total));
  setText(line.querySelector('[data-field="portfolio_beta_delta_dollars"]'), signed(dollars.length ? sum(dollars) : 0, 0));
}
