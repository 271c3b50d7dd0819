/*
 * The option chain table (the /chain/<SYMBOL> page): DOM only, the values and text come
 * from chain.js. Rows are built from the chain object (the same markup the server
 * renders), then each frame's quotes and greeks are written into their cells. The ATM
 * row is marked (`data-atm`, class `atm`), held strikes carry a ● (`data-held`), a quote
 * older than the stale threshold is drawn stale like everywhere else.
 */
import { quoteStale } from './contract.js';
import { el, markCell, setAttr, setCell, setText } from './dom.js';
import { COLUMNS, cellText, greeksAgeText, mid, oldestGreeksT, sideValues, strikeText } from './chain.js';

function sideCells(side, itm) {
  return COLUMNS.map((f) => el('td', { class: `num${itm ? ' itm' : ''}`, 'data-side': side, 'data-field': f }, '—'));
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
    ...sideCells('call', typeof price === 'number' && row.strike < price),
    strike,
    ...sideCells('put', typeof price === 'number' && row.strike > price));
  tr._sdRow = row;
  return tr;
}

/** The chain page's view over `root` (#chain). */
export function createChainView(doc, root) {
  const tbody = root.querySelector('[data-chain-rows]');
  const errorNode = root.querySelector('[data-chain-error]');
  const ageNode = root.querySelector('[data-greeks-age]');
  const priceNode = root.querySelector('[data-chain-price]');
  const brokerNode = root.querySelector('[data-chain-broker]');
  const expirationSelect = root.querySelector('#chain-expiration');
  let chain = null;
  let rows = []; // [{tr, row, cells: {call: {field: td}, put: {...}}}]

  function cellsOf(tr) {
    const cells = { call: {}, put: {} };
    for (const td of tr.querySelectorAll('td[data-side]')) cells[td.getAttribute('data-side')][td.getAttribute('data-field')] = td;
    return cells;
  }

  return {
    chain: () => chain,
    /** Show a chain (rows rebuilt; the expirations offered are the broker's). */
    setChain(next) {
      chain = next;
      const held = new Set(next.held || []);
      const trs = next.rows.map((row) => buildRow(row, next, held));
      tbody.replaceChildren(...trs);
      rows = trs.map((tr) => ({ tr, row: tr._sdRow, cells: cellsOf(tr) }));
      if (expirationSelect) {
        expirationSelect.replaceChildren(...next.expirations.map((d) => el('option', { value: d, selected: d === next.expiration }, d)));
      }
      setText(brokerNode, next.broker);
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
    /** Write the stream's latest quotes and greeks into the visible rows. */
    render(state, now) {
      if (!chain) return;
      const sides = [];
      for (const { row, cells } of rows) {
        for (const right of ['call', 'put']) {
          const side = row[right];
          const q = state.quotes.get(side.symbol);
          const v = sideValues(side, q, state.greeks.get(side.symbol));
          sides.push(v);
          const stale = q ? quoteStale(q, now, state.freshness) : false;
          for (const f of COLUMNS) {
            setCell(cells[right][f], cellText(f, v[f]), v[f], { flash: f === 'bid' || f === 'ask' || f === 'mark' });
            if (f === 'bid' || f === 'ask' || f === 'mark') markCell(cells[right][f], stale, !!(q && q.delayed), stale ? 'quote is stale' : null);
          }
        }
      }
      const u = state.quotes.get(chain.underlying);
      const price = u ? (mid(u.bid, u.ask) ?? u.last ?? null) : chain.underlying_price;
      setCell(priceNode, cellText('bid', price), price, { flash: true });
      if (ageNode && chain.greeks_source === 'chain') setText(ageNode, greeksAgeText(oldestGreeksT(sides), now));
    },
  };
}
