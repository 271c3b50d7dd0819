/*
 * The option chain table (the /chain/<SYMBOL> page): DOM only, the values and text come
 * from chain.js. Rows are built from the chain object (the same markup the server
 * renders), then each frame's quotes and greeks are written into their cells. The ATM
 * row is marked (`data-atm`, class `atm`), held strikes carry a ● (`data-held`), a quote
 * that is not live is drawn stale like everywhere else. Rows out of view are redrawn at
 * most once a second (visibility.js) and at once when they come into view; the rows sort
 * by strike or by a side's column (sort.js; the trader's sort is remembered). The expected
 * move's line is written on each render from the price and ATM IV shown, and the strikes
 * nearest its low and high carry `data-expected-edge` (expected-move.js).
 */
import { quoteStale } from '../contract.js';
import { el, markCell, reconcileChildren, setAttr, setCell, setText } from './dom.js';
import { COLUMNS, cellText, greeksAgeText, mid, oldestGreeksT, sideValues, strikeText } from '../chain.js';
import { expectedMoveView } from '../expected-move.js';
import { SORTABLE, sortItems, validSort } from '../sort.js';
import { markSorted, sortableHeaders } from './sort-headers.js';
import { OFF_SCREEN_EVERY_MS, createVisibility } from './visibility.js';

const NO_SORTING = { get: () => null, change() {} };

/** A side's cells; its bid and ask open the order ticket (static/js/trading/ticket/entry.js:
 *  the bid sells, the ask buys), by click or by Enter. */
function sideCells(side, itm, symbol) {
  return COLUMNS.map((f) => {
    const trade = f === 'bid' || f === 'ask';
    return el('td', {
      class: `num${itm ? ' itm' : ''}${trade ? ' tradable' : ''}`, 'data-side': side, 'data-field': f,
      'data-trade-symbol': trade ? symbol : null, tabindex: trade ? '0' : null,
    }, '—');
  });
}

function heldMark(right, strike) {
  return el('span', { class: 'held-mark', 'data-held': right, title: `You hold the ${strike} ${right}` }, '●');
}

function buildRow(row, chain, held) {
  const k = strikeText(row.strike);
  const price = chain.underlying_price;
  const atm = row.strike === chain.atm_strike;
  const strike = el('th', { scope: 'row', class: 'col-strike', 'data-field': 'strike' },
    held.has(row.call.symbol) ? heldMark('call', k) : null,
    k,
    held.has(row.put.symbol) ? heldMark('put', k) : null);
  const tr = el('tr', { 'data-strike': k, class: atm ? 'atm' : null, 'data-atm': atm ? 'true' : null },
    ...sideCells('call', typeof price === 'number' && row.strike < price, row.call.symbol),
    strike,
    ...sideCells('put', typeof price === 'number' && row.strike > price, row.put.symbol));
  tr._sdRow = row;
  return tr;
}

/** A chain row's value in a sortable column: `strike`, or `<call|put>_<field>`. */
function rowValue(entry, col, values) {
  if (col === 'strike') return entry.row.strike;
  const [right, ...rest] = col.split('_');
  const v = values.get(entry) && values.get(entry)[right];
  const value = v ? v[rest.join('_')] : null;
  return typeof value === 'number' ? value : null;
}

/** The chain page's view over `root` (#chain). `opts`: {win (its IntersectionObserver),
 *  sorting: {get(table), change(table, sort)}}. */
export function createChainView(doc, root, opts = {}) {
  const sorting = opts.sorting || NO_SORTING;
  let drawnState = null;
  const visibility = createVisibility(opts.win || null, (tr) => {
    const entry = rows.find((r) => r.tr === tr);
    if (entry && drawnState) drawRow(entry, drawnState.state, drawnState.now);
  });
  const tbody = root.querySelector('[data-chain-rows]');
  const errorNode = root.querySelector('[data-chain-error]');
  const ageNode = root.querySelector('[data-greeks-age]');
  const priceNode = root.querySelector('[data-chain-price]');
  const brokerNode = root.querySelector('[data-chain-broker]');
  const moveNode = root.querySelector('[data-expected-move]');
  const expirationSelect = root.querySelector('#chain-expiration');
  let chain = null;
  let rows = []; // [{tr, row, cells: {call: {field: td}, put: {...}}, drawnAt, values: {call, put}}]
  const table = tbody ? tbody.closest('table') : null;
  if (table) { // sortable: the strike, and each side's columns (`call_volume`, `put_iv`, …)
    for (const th of table.querySelectorAll('thead th[data-side][data-field]')) {
      th.setAttribute('data-col', `${th.getAttribute('data-side')}_${th.getAttribute('data-field')}`);
    }
    const strikeHead = table.querySelector('thead th.col-strike');
    if (strikeHead) strikeHead.setAttribute('data-col', 'strike');
    sortableHeaders(table, 'chain', sorting);
  }

  /** One row's cells from the state (values, flashes, stale marks); its sides' values. */
  function drawRow(entry, state, now) {
    const { row, cells } = entry;
    entry.drawnAt = Date.now();
    entry.values = {};
    for (const right of ['call', 'put']) {
      const side = row[right];
      const q = state.quotes.get(side.symbol);
      const v = sideValues(side, q, state.greeks.get(side.symbol));
      entry.values[right] = v;
      const stale = q ? quoteStale(q, now, state.freshness) : false;
      for (const f of COLUMNS) {
        setCell(cells[right][f], cellText(f, v[f]), v[f], { flash: f === 'bid' || f === 'ask' || f === 'mark' });
        if (f === 'bid' || f === 'ask' || f === 'mark') markCell(cells[right][f], stale, !!(q && q.delayed), stale ? 'quote is not live' : null);
      }
    }
  }

  /** The rows in the order of the chain's sort (the broker's, by strike, without one). */
  function order() {
    const sort = validSort('chain', sorting.get('chain'));
    const values = new Map(rows.map((r) => [r, r.values]));
    reconcileChildren(tbody, sortItems(rows, sort, (r, col) => rowValue(r, col, values)).map((r) => r.tr));
    markSorted(table, sort);
  }

  /** The expected move's line from the price shown and the ATM IV now; its edge strikes
   *  marked (words and no mark without a value). */
  function drawExpectedMove(price, stale, now) {
    if (!moveNode) return;
    const ivRows = rows.map((r) => ({ strike: r.row.strike, callIv: r.values.call.iv, putIv: r.values.put.iv }));
    const view = expectedMoveView({ name: chain.underlying, expiration: chain.expiration, price, rows: ivRows, now });
    setText(moveNode, view.text);
    markCell(moveNode, stale && view.edges !== null, false, stale && view.edges !== null ? 'price is not live' : null);
    for (const r of rows) {
      const edge = !view.edges ? null
        : r.row.strike === view.edges.low ? 'low' : r.row.strike === view.edges.high ? 'high' : null;
      setAttr(r.tr, 'data-expected-edge', edge);
    }
  }

  function cellsOf(tr) {
    const cells = { call: {}, put: {} };
    for (const td of tr.querySelectorAll('td[data-side]')) cells[td.getAttribute('data-side')][td.getAttribute('data-field')] = td;
    return cells;
  }

  return {
    chain: () => chain,
    /** The trader's sort changed: the rows in its order now. */
    sorted: order,
    /** Show a chain (rows rebuilt; the expirations offered are the broker's). */
    setChain(next) {
      chain = next;
      const held = new Set(next.held || []);
      for (const r of rows) visibility.forget(r.tr);
      const trs = next.rows.map((row) => buildRow(row, next, held));
      tbody.replaceChildren(...trs);
      rows = trs.map((tr) => ({ tr, row: tr._sdRow, cells: cellsOf(tr), drawnAt: 0, values: null }));
      for (const r of rows) visibility.watch(r.tr);
      if (expirationSelect) {
        expirationSelect.replaceChildren(...next.expirations.map((d) => el('option', { value: d, selected: d === next.expiration }, d)));
      }
      setText(brokerNode, next.broker);
      setText(moveNode, ''); // the next render writes this expiration's
      if (ageNode) ageNode.hidden = next.greeks_source !== 'chain';
      this.error(null);
    },
    /** A sentence in the error line (null hides it); the stream and the table go on. */
    error(text, code) {
      if (!errorNode) return;
      errorNode.hidden = !text;
      setAttr(errorNode, 'data-code', code || '');
      if (text) setText(errorNode, text);
    },
    /** Write the stream's latest quotes and greeks into the rows in view (the others
     *  once a second), and keep the rows in the sort's order. */
    render(state, now) {
      if (!chain) return;
      drawnState = { state, now };
      const wall = Date.now();
      const sides = [];
      for (const entry of rows) {
        if (!entry.values || visibility.inView(entry.tr) || wall - entry.drawnAt >= OFF_SCREEN_EVERY_MS) drawRow(entry, state, now);
        sides.push(entry.values.call, entry.values.put);
      }
      if (sorting.get('chain')) order();
      const u = state.quotes.get(chain.underlying);
      const price = u ? (mid(u.bid, u.ask) ?? u.last ?? null) : chain.underlying_price;
      setCell(priceNode, cellText('bid', price), price, { flash: true });
      drawExpectedMove(price, !!(u && quoteStale(u, now, state.freshness)), now);
      if (ageNode && chain.greeks_source === 'chain') setText(ageNode, greeksAgeText(oldestGreeksT(sides), now));
    },
  };
}
