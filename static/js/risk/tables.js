/*
 * The /risk page's tables, live: each underlying's price, each position's delta in
 * shares and β-weighted delta (SPY shares), their sums and the portfolio line, from the
 * stream's state through the dashboard's exposure rules (static/js/stream/exposure.js,
 * the mirror of streaming/risk/exposure.py that rendered them first, via page/rows.py).
 * A row is found in the state by its account and symbol; one the state no longer holds
 * (closed, the rows not yet reloaded) reads "—".
 */
import { quoteStale } from '../stream/contract.js';
import { markCell, setText } from '../stream/render/dom.js';
import { BENCHMARK, knownSum, livePrice, portfolioBetaDelta, positionExposure } from '../stream/exposure.js';
import { quoteWhy } from '../stream/format.js';
import { nextChoices } from './graph.js';
import { fmtNumber } from '../stream/format.js';

const plain = (v) => fmtNumber(v, 2);
const signed = (v, digits) => fmtNumber(v, digits, true);

/** The state's position of a table row (`data-risk-position="<account>|<symbol>"`), or null. */
export function rowPosition(state, key) {
  const cut = key.indexOf('|');
  const acct = state.accounts.get(key.slice(0, cut));
  return (acct && acct.positions.get(key.slice(cut + 1))) || null;
}

let drawn = {};

/**
 * New positions or underlyings (a fill): the tables' rows as the server renders them now
 * (this page fetched again, its `#risk-tables` section parsed and swapped in; no
 * innerHTML), then their values live again from the stream; the graph's select and its
 * per-choice expirations likewise (`syncChoices`). Returns whether it did.
 */
export async function reloadRows(doc, fetch, url) {
  const r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
  if (!r.ok) return false;
  const page = new DOMParser().parseFromString(await r.text(), 'text/html');
  const fresh = page.getElementById('risk-tables');
  const old = doc.getElementById('risk-tables');
  if (!fresh || !old) return false;
  old.replaceWith(doc.importNode(fresh, true));
  drawn = {}; // every value again
  syncChoices(doc, page);
  return true;
}

const optionsOf = (select) => Array.from(select.options, (o) => ({ value: o.value, label: o.textContent }));

/**
 * The graph's select as the fetched page offers it (a new underlying held: one more
 * option) and the expirations the date slider ends at. The choice is kept while offered;
 * if it is gone, the select changes (its `change` handler draws the new choice).
 */
function syncChoices(doc, page) {
  const expirations = doc.getElementById('risk-expirations');
  const freshExpirations = page.getElementById('risk-expirations');
  if (expirations && freshExpirations) expirations.textContent = freshExpirations.textContent;
  const select = doc.querySelector('[data-risk-choice]');
  const freshSelect = page.querySelector('[data-risk-choice]');
  if (!select || !freshSelect) return;
  const before = select.value;
  const next = nextChoices(optionsOf(select), optionsOf(freshSelect), before, freshSelect.value);
  if (next.changed) {
    select.replaceChildren(...next.choices.map((c) => {
      const o = doc.createElement('option');
      o.value = c.value;
      o.textContent = c.label;
      return o;
    }));
  }
  select.value = next.choice;
  if (next.choice !== before) select.dispatchEvent(new Event('change'));
}

/** Each price's staleness and age (every call: values age without frames). */
function markPrices(root, state, now) {
  for (const block of root.querySelectorAll('[data-risk-underlying]')) {
    const u = block.getAttribute('data-risk-underlying'); // its contract symbol: the quote's key
    const name = block.getAttribute('data-display') || u;
    const q = state.quotes.get(u);
    markCell(block.querySelector('[data-field="price"]'), quoteStale(q, now, state.freshness), !!(q && q.delayed), `${name} ${quoteWhy(q, now, state.freshness)}`);
  }
}

/** Redraw what the stream moved (values only when quotes, greeks, metrics or positions changed). */
export function renderTables(doc, root, state, now) {
  markPrices(root, state, now);
  if (drawn.quotes === state.quotes && drawn.greeks === state.greeks && drawn.metrics === state.metrics && drawn.accounts === state.accounts) return;
  drawn = { quotes: state.quotes, greeks: state.greeks, metrics: state.metrics, accounts: state.accounts };
  const spy = livePrice(BENCHMARK, state.quotes);
  for (const block of root.querySelectorAll('[data-risk-underlying]')) {
    const priceCell = block.querySelector('[data-field="price"]');
    const price = livePrice(block.getAttribute('data-risk-underlying'), state.quotes);
    if (price !== null) {
      setText(priceCell, plain(price));
      priceCell.setAttribute('data-value', String(price));
    }
    const deltas = [];
    const betas = [];
    for (const row of block.querySelectorAll('tr[data-risk-position]')) {
      const p = rowPosition(state, row.getAttribute('data-risk-position'));
      const e = p ? positionExposure(state, p, now) : null;
      deltas.push(e ? e.delta_shares : null);
      betas.push(e ? e.beta_delta : null);
      setText(row.querySelector('[data-field="delta_shares"]'), signed(e ? e.delta_shares : null, 1));
      setText(row.querySelector('[data-field="beta_delta"]'), signed(e ? e.beta_delta : null, 1));
    }
    const bd = knownSum(betas);
    setText(block.querySelector('[data-field="delta"]'), signed(knownSum(deltas), 1));
    setText(block.querySelector('[data-field="beta_delta"]'), signed(bd, 1));
    setText(block.querySelector('[data-field="beta_delta_dollars"]'), signed(bd === null || !spy ? null : bd * spy, 0));
  }
  const line = doc.getElementById('risk-portfolio');
  if (!line) return;
  const total = portfolioBetaDelta(state, now);
  const cell = line.querySelector('[data-field="portfolio_beta_delta"]');
  setText(cell, signed(total, 1));
  cell.setAttribute('data-value', total === null ? '' : String(total));
  setText(line.querySelector('[data-field="portfolio_beta_delta_dollars"]'), signed(total === null || !spy ? null : total * spy, 0));
}
