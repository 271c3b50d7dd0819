/*
 * The market overview's tiles (the /market page and the dashboard's strip): DOM only,
 * the numbers come from overview.js. A tile shows last, change and change %, is coloured
 * by `data-heat` (-5..5, CSS) and says its direction in words (an arrow, a sign, its
 * aria-label): colour is never the only carrier. A stale or delayed quote is marked the
 * way the watchlist marks it (`data-stale`, `is-stale`, a DELAYED badge, a title).
 */
import { quoteStale } from '../contract.js';
import { displayOf } from '../instruments.js';
import { delayedBadge, el, reconcileChildren, setAttr, setCell, setText } from './dom.js';
import { quoteWhy } from '../format.js';
import { heatLevel, tileLabel, tileText, tileValues } from '../overview.js';

const ARROWS = { up: '▲', down: '▼', flat: '■', none: '·' };

function buildTile(sym) {
  return el('li', { class: 'tile', 'data-tile': sym, 'data-stale': 'true', 'data-delayed': 'false', 'data-heat': '' },
    el('span', { class: 'tile-head' },
      el('span', { class: 'tile-sym', 'data-field': 'symbol', title: sym }, displayOf(sym)),
      el('span', { class: 'tile-arrow', 'data-field': 'arrow', 'aria-hidden': 'true' }, ARROWS.none)),
    el('span', { class: 'num tile-last', 'data-field': 'last' }, '—'),
    el('span', { class: 'tile-moves' },
      el('span', { class: 'num tile-change', 'data-field': 'change' }, '—'),
      el('span', { class: 'num tile-pct', 'data-field': 'change_pct' }, '—')));
}

/** One overview container (`[data-overview]` holding `ul[data-tiles]`). */
export function createOverviewView(doc, container) {
  const list = container.querySelector('[data-tiles]');
  const tiles = new Map(); // symbol -> li
  const drawnQuote = new Map(); // symbol -> the quote its tile shows (a frame changes what it replaced)
  for (const t of container.querySelectorAll('[data-tile]')) tiles.set(t.getAttribute('data-tile'), t);
  const fields = (tile) => {
    if (!tile._sdOv) {
      const f = {};
      for (const n of tile.querySelectorAll('[data-field]')) f[n.getAttribute('data-field')] = n;
      tile._sdOv = f;
    }
    return tile._sdOv;
  };

  function renderTile(state, sym, now) {
    const tile = tiles.get(sym);
    const q = state.quotes.get(sym);
    const v = tileValues(q);
    const text = tileText(v);
    const f = fields(tile);
    setCell(f.last, text.last, v.last, { flash: true });
    setCell(f.change, text.change, v.change, { signed: true });
    setCell(f.change_pct, text.changePct, v.changePct, { signed: true });
    const level = heatLevel(v.changePct);
    setAttr(tile, 'data-heat', level === null ? '' : String(level));
    const dir = v.change === null ? 'none' : v.change > 0 ? 'up' : v.change < 0 ? 'down' : 'flat';
    setText(f.arrow, ARROWS[dir]);
    setAttr(tile, 'data-dir', dir);
    const stale = quoteStale(q, now, state.freshness);
    const delayed = !!(q && q.delayed);
    setAttr(tile, 'data-stale', stale ? 'true' : 'false');
    setAttr(tile, 'data-delayed', delayed ? 'true' : 'false');
    tile.classList.toggle('is-stale', stale);
    tile.classList.toggle('is-delayed', delayed);
    for (const n of [f.last, f.change, f.change_pct]) n.classList.toggle('is-stale', stale);
    delayedBadge(fields(tile).symbol.parentNode, delayed, true);
    const label = tileLabel(sym, v);
    const why = quoteWhy(q, now, state.freshness);
    setAttr(tile, 'aria-label', stale ? `${label}; ${why}` : label);
    setAttr(tile, 'title', `${label} · ${why}`);
    const rejected = state.rejected.get(sym);
    setAttr(tile, 'data-rejected', rejected || null);
  }

  return {
    symbols: () => Array.from(tiles.keys()),
    /** Show these symbols, in this order (tiles kept for symbols already shown). */
    setSymbols(symbols) {
      for (const sym of symbols) if (!tiles.has(sym)) tiles.set(sym, buildTile(sym));
      for (const sym of Array.from(tiles.keys())) if (!symbols.includes(sym)) tiles.delete(sym);
      reconcileChildren(list, symbols.map((sym) => tiles.get(sym)));
    },
    /** Redraw the tiles whose quote changed (`all`: every tile, as ages move) from the
     *  state at server time `now`. */
    render(state, now, all = true) {
      for (const sym of tiles.keys()) {
        const q = state.quotes.get(sym);
        if (!all && drawnQuote.has(sym) && drawnQuote.get(sym) === q) continue;
        drawnQuote.set(sym, q);
        renderTile(state, sym, now);
      }
    },
  };
}

/**
 * The overview's list editor (a form with one text field: symbols separated by spaces or
 * commas): `POST url {"symbols": [...]}`; the answer's list is `adopt`ed, a refusal is a
 * `message`. The stream goes on either way.
 */
export function createOverviewEditor({ form, url, adopt, message }) {
  if (!form) return;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = form.querySelector('input[name=symbols]');
    const symbols = input.value.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
    const csrf = form.querySelector('input[name=csrfmiddlewaretoken]');
    let answer;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf ? csrf.value : '' },
        body: JSON.stringify({ symbols }),
        credentials: 'same-origin',
      });
      answer = await res.json().catch(() => ({}));
      if (!res.ok) {
        message(`Overview not saved: ${answer.error || `HTTP ${res.status}`}`, 'error');
        return;
      }
    } catch (e) {
      message('Overview not saved: the server could not be reached', 'error');
      return;
    }
    input.value = answer.symbols.join(' ');
    adopt(answer.symbols);
    message('Overview saved', 'info');
  });
}
