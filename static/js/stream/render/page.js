/*
 * The page from the state: DOM rendering and reconciliation only. `render(state)` redraws
 * what is not identical to the state it drew last (the reducer copies what it changes, so
 * identity says what changed; a new snapshot redraws everything, without flashing);
 * `freshness()` re-marks everything that ages with the clock (every second, and after a
 * link changed); rows out of view get their held values only on the once-a-second tick
 * (`freshness(true)`), never closer. Hooks: tests/browser/README.md.
 */
import { KINDS, SILENT_PAGE_MS, dataState, formatPosition, kindsOf, num, quoteStale } from '../contract.js';
import { cellsOf, delayedBadge, el, reconcileChildren, sameKeys, setAttr, setCell, setText, showMessage } from './dom.js';
import { DASH, fmt, fmtAge, quoteWhy, rejectionText } from '../format.js';
import { rowMenuButton } from './row-menu.js';
import { displayOf } from '../instruments.js';
import { createAccountsView } from './accounts.js';
import { createTotalsView } from './totals.js';
import { createOrdersView } from './orders.js';
import { linkAdvice } from '../link-advice.js';
import { thinnedWords } from '../quote-pace.js';
import { isSimulated } from '../state.js';
import { createHeldRedraws, createVisibility } from './visibility.js';
import { sortItems, validSort } from '../sort.js';
import { markSorted, sortableHeaders } from './sort-headers.js';

const QUOTE_FIELDS = ['bid', 'ask', 'last', 'change', 'volume'];

function buildQuoteRow(sym) {
  return el('tr', { 'data-quote': sym, 'data-stale': 'true', 'data-delayed': 'false' },
    el('th', { scope: 'row', class: 'col-sym', 'data-field': 'symbol' }, el('span', { class: 'sym', title: sym }, displayOf(sym)), rowMenuButton(sym)),
    el('td', { class: 'num', 'data-field': 'bid' }, DASH),
    el('td', { class: 'num', 'data-field': 'ask' }, DASH),
    el('td', { class: 'num col-last', 'data-field': 'last' }, DASH),
    el('td', { class: 'num', 'data-field': 'change' }, DASH),
    el('td', { class: 'num col-vol', 'data-field': 'volume' }, DASH),
    el('td', { class: 'rm' }, el('button', { type: 'button', class: 'btn-rm', 'data-remove': sym, 'aria-label': `Remove ${sym}`, title: `Remove ${sym}` }, '×')));
}

/** A watchlist quote's value in a sortable column (sort.js). */
const quoteValue = (state, sym, col) => (col === 'symbol' ? sym : num((state.quotes.get(sym) || {})[col]));

const NO_SORTING = { get: () => null, change() {} };

/** clock: {serverNow(), now(), silentMs()} (server ms, client ms, ms since the last frame).
 *  win: the window (its IntersectionObserver: rows out of view redraw once a second).
 *  sorting: {get(table), change(table, sort)}: the trader's sorts (io/preferences.js). */
export function createRenderer(doc, root, clock, win, sorting = NO_SORTING) {
  const $ = (id) => doc.getElementById(id);
  const els = {
    watchRows: $('watchlist-rows'), watchEmpty: $('watchlist-empty'),
    links: $('links'), conn: $('conn-state'), dataState: $('data-state'), age: $('data-age'), messages: $('messages'),
    advice: $('link-advice'), pace: $('quote-pace'),
  };
  // rows out of view redraw at most once a second (the freshness tick), and when shown
  const heldQuotes = createHeldRedraws(); // watchlist symbols whose row was not redrawn
  const visibility = createVisibility(win, (row) => {
    const sym = row.getAttribute('data-quote');
    if (sym !== null && heldQuotes.release(sym) && shown) renderQuoteRow(shown, sym, false, clock.serverNow());
    accounts.shown(row, clock.serverNow(), clock.now());
  });
  const accounts = createAccountsView(doc, visibility, sorting);
  const watchTable = els.watchRows ? els.watchRows.closest('table') : null;
  sortableHeaders(watchTable, 'watchlist', sorting);
  const totals = createTotalsView(doc); // the portfolio totals panel: derived from the whole state
  const orders = createOrdersView(doc); // the orders panel: filters, bound, older pages (orders.js)
  const quoteRows = new Map(); // symbol -> tr
  const linkEls = new Map(); // link id -> span
  for (const r of doc.querySelectorAll('tr[data-quote]')) {
    quoteRows.set(r.getAttribute('data-quote'), r);
    visibility.watch(r);
  }
  for (const l of doc.querySelectorAll('[data-link]')) linkEls.set(l.getAttribute('data-link'), l);
  let shown = null; // the state drawn last
  let shownSimulated = null;
  let delayedInView = false; // some value in view comes from a delayed source
  let staleInView = 0; // values shown that have a quote, but not a live one

  // ---------------------------------------------------------------- watchlist

  function reconcileWatchlist(state) {
    const symbols = state.watchlist.symbols;
    for (const sym of symbols) {
      if (!quoteRows.has(sym)) {
        quoteRows.set(sym, buildQuoteRow(sym));
        visibility.watch(quoteRows.get(sym));
      }
      setAttr(quoteRows.get(sym), 'data-rejected', state.rejected.get(sym) || null);
    }
    for (const sym of Array.from(quoteRows.keys())) {
      if (symbols.includes(sym)) continue;
      visibility.forget(quoteRows.get(sym));
      quoteRows.delete(sym);
    }
    if (els.watchRows) {
      const sort = validSort('watchlist', sorting.get('watchlist'));
      const ordered = sortItems(symbols, sort, (sym, col) => quoteValue(state, sym, col));
      reconcileChildren(els.watchRows, ordered.map((sym) => quoteRows.get(sym)));
      markSorted(watchTable, sort);
      els.watchRows.setAttribute('data-version', state.watchlist.version === null ? '' : String(state.watchlist.version));
    }
    if (els.watchEmpty) els.watchEmpty.hidden = symbols.length > 0;
  }

  /** A watchlist row's values (`force`: even out of view, the once-a-second redraw). */
  function renderQuoteRow(state, sym, flash, now, force = false) {
    const row = quoteRows.get(sym);
    if (!row) return;
    if (!force && !visibility.inView(row)) { // out of view: drawn with the next tick, or when seen
      heldQuotes.hold(sym);
      return;
    }
    const q = state.quotes.get(sym) || {};
    const c = cellsOf(row);
    const [bid, ask, last, change, volume] = QUOTE_FIELDS.map((f) => num(q[f]));
    setCell(c.bid, fmt.price(bid), bid, { flash });
    setCell(c.ask, fmt.price(ask), ask, { flash });
    setCell(c.last, fmt.price(last), last, { flash });
    setCell(c.change, fmt.change(change), change, { signed: true });
    setCell(c.volume, fmt.volume(volume), volume);
    if (quoteFreshness(state, sym, row, now)) delayedInView = true;
  }

  /** `data-stale` + `is-stale` + a title with the quote's age; `data-delayed` + a DELAYED
   *  badge for a quote from a delayed source. Returns whether it is delayed. */
  function quoteFreshness(state, sym, row, now) {
    const q = state.quotes.get(sym);
    const stale = quoteStale(q, now, state.freshness);
    const delayed = !!(q && q.delayed);
    setAttr(row, 'data-stale', stale ? 'true' : 'false');
    setAttr(row, 'data-delayed', delayed ? 'true' : 'false');
    row.classList.toggle('is-stale', stale);
    row.classList.toggle('is-delayed', delayed);
    const reason = state.rejected.get(sym);
    setAttr(row, 'title', [reason ? rejectionText(sym, reason) : '', quoteWhy(q, now, state.freshness)].filter(Boolean).join(' · '));
    const c = cellsOf(row);
    for (const f of QUOTE_FIELDS) {
      if (!c[f]) continue;
      c[f].classList.toggle('is-stale', stale);
      c[f].classList.toggle('is-delayed', delayed);
    }
    delayedBadge(c.symbol, delayed, true);
    return delayed;
  }

  // ---------------------------------------------------------------- links

  function reconcileLinks(state) {
    for (const id of state.links.keys()) if (!linkEls.has(id)) linkEls.set(id, el('span', { class: 'link', 'data-link': id }, el('span', { class: 'link-label' }, '')));
    for (const id of Array.from(linkEls.keys())) if (!state.links.has(id)) linkEls.delete(id);
    if (els.links) reconcileChildren(els.links, Array.from(state.links.keys(), (id) => linkEls.get(id)));
  }

  /** A link chip: its worst state, one "kind state" per kind in use, DELAYED; the title says it all. */
  function renderLink(id, l) {
    const node = linkEls.get(id);
    const state = String(l.state || 'stopped');
    const kinds = kindsOf(l);
    setAttr(node, 'data-state', state);
    for (const k of KINDS) {
      setAttr(node, `data-${k}-state`, kinds[k].state);
      const after = kinds[k].stale_after_ms;
      setAttr(node, `data-${k}-stale-after-ms`, after === null ? null : String(Math.round(after)));
    }
    setAttr(node, 'data-quote-source', l.quote_source ? 'true' : 'false');
    setAttr(node, 'data-delayed', l.delayed ? 'true' : 'false');
    let label = node.querySelector('.link-label');
    if (!label) node.prepend((label = el('span', { class: 'link-label' })));
    setText(label, String(l.label || l.broker || `link ${id}`));
    const old = node.querySelector('.link-state');
    if (old) old.remove();
    for (const k of KINDS) {
      let span = node.querySelector(`[data-kind="${k}"]`);
      const show = kinds[k].state !== 'idle';
      if (show && !span) { // kinds in contract order, before the DELAYED badge
        span = el('span', { class: 'link-kind', 'data-kind': k });
        const later = KINDS.slice(KINDS.indexOf(k) + 1).map((n) => node.querySelector(`[data-kind="${n}"]`)).find(Boolean);
        node.insertBefore(span, later || node.querySelector('[data-badge="delayed"]'));
      }
      if (!span) continue;
      span.hidden = !show;
      setAttr(span, 'data-state', kinds[k].state);
      setText(span, `${k} ${kinds[k].state}`);
      setAttr(span, 'title', kinds[k].reason ? `${k}: ${kinds[k].reason}` : null);
    }
    delayedBadge(node, !!l.delayed, true);
    const parts = [`${l.broker || ''} ${l.label || ''}`.trim(), `state ${state}`];
    if (l.reason) parts.push(String(l.reason));
    for (const k of KINDS) {
      const v = kinds[k];
      if (v.state === 'idle') parts.push(`${k}: idle (not the quote source)`);
      else parts.push(`${k}: ${v.state}${v.reason ? ` (${v.reason})` : ''}${v.last_ok ? `, last confirmed ${fmt.time(v.last_ok)}` : ''}${v.stale_after_ms !== null ? `, stale after ${fmtAge(v.stale_after_ms)} without data` : ''}`);
    }
    if (l.quote_source) parts.push('feeds your quotes');
    if (l.delayed) parts.push(`DELAYED market data${num(l.delay_ms) !== null ? ` (about ${fmtAge(num(l.delay_ms))})` : ''}`);
    if (num(l.reconnects)) parts.push(`${l.reconnects} reconnects`);
    if (num(l.last_event_age_ms) !== null) parts.push(`last event ${fmtAge(num(l.last_event_age_ms))} ago`);
    if (l.simulated) parts.push('SIMULATED');
    node.title = parts.join(' · ');
  }

  /** `#link-advice`: what to do about each link in error, in a sentence (link-advice.js);
   *  re-drawn every second (it says when the next retry is). */
  function renderAdvice(state) {
    if (!els.advice) return;
    const now = clock.serverNow();
    const items = [];
    for (const [id, l] of state.links) {
      const text = linkAdvice(l, now);
      if (!text) continue;
      let li = els.advice.querySelector(`[data-link-advice="${CSS.escape(id)}"]`);
      if (!li) li = el('li', { 'data-link-advice': id });
      setText(li, text);
      items.push(li);
    }
    reconcileChildren(els.advice, items);
    els.advice.hidden = !items.length;
  }

  // ---------------------------------------------------------------- page-wide marks

  function renderSimulated(sim) {
    let banner = $('simulated-banner');
    if (sim && !banner) {
      banner = el('div', { id: 'simulated-banner', class: 'sim-banner', role: 'alert' }, el('strong', null, 'SIMULATED DATA — sandbox broker, not real money'));
      (root.closest('main') || root).prepend(banner); // where every page has it (base.html)
    } else if (!sim && banner) {
      banner.remove();
    }
    let pill = $('sim-pill');
    if (sim && !pill) {
      pill = el('span', { id: 'sim-pill', class: 'badge badge-sim' }, 'SIMULATED');
      const bar = $('status-bar');
      if (bar) bar.insertBefore(pill, els.links);
    } else if (!sim && pill) {
      pill.remove();
    }
    const base = doc.title.replace(/^\[SIMULATED\]\s*/, '');
    const title = sim ? `[SIMULATED] ${base}` : base;
    if (doc.title !== title) doc.title = title;
    doc.body.classList.toggle('simulated', sim);
  }

  /** The data pill (`fresh` | `stale` | `delayed`), the data age and body[data-stale]. */
  function renderPill(state) {
    const now = clock.serverNow();
    const age = state.newestQuoteT === null ? null : Math.max(0, now - state.newestQuoteT);
    if (els.age) {
      setText(els.age, fmtAge(age));
      setAttr(els.age, 'data-age-ms', age === null ? '' : String(Math.round(age)));
      setAttr(els.age, 'title', 'age of the newest live (not delayed) quote');
    }
    const silentMs = clock.silentMs();
    const ds = dataState({
      links: Array.from(state.links.values()), newestQuoteT: state.newestQuoteT, anyDelayedQuote: delayedInView,
      staleInView, now, staleMs: state.staleAfterMs, silentMs, silentAfterMs: SILENT_PAGE_MS,
    });
    if (els.dataState) {
      setText(els.dataState, ds.state);
      setAttr(els.dataState, 'data-state', ds.state);
      setAttr(els.dataState, 'title', ds.why.length ? ds.why.join('\n') : 'all data current');
    }
    setAttr(doc.body, 'data-data-state', ds.state);
    setAttr(doc.body, 'data-stale', silentMs > SILENT_PAGE_MS ? 'true' : 'false');
    renderQuoteSource(state);
    renderAdvice(state);
    renderPace(state.quotePace);
  }

  /** `#quote-pace` (role=status): while the server thins this socket's quotes, how often
   *  and why, in words; empty (and not shown) otherwise. */
  function renderPace(pace) {
    if (!els.pace) return;
    const words = thinnedWords(pace);
    setText(els.pace, words);
    setAttr(els.pace, 'title', words || null); // whole, where the bar cuts it
    setAttr(els.pace, 'data-interval-ms', pace ? String(pace.intervalMs) : null);
    setAttr(els.pace, 'data-cause', pace ? pace.cause : null);
  }

  /** `#quote-source`: which link the quotes come from now (one feeds them all). */
  function renderQuoteSource(state) {
    const bar = $('status-bar');
    if (!bar) return;
    let node = $('quote-source');
    const f = state.freshness;
    if (!node) {
      node = el('span', { id: 'quote-source', class: 'status-item quote-source' }, el('span', { class: 'status-label' }, 'quotes'), ' ', el('span', { 'data-field': 'source' }, ''));
      bar.insertBefore(node, $('sim-pill'));
    }
    const coins = f.coins;
    node.hidden = !f.link && !coins;
    setAttr(node, 'data-source-link', f.link);
    setAttr(node, 'data-coin-link', coins ? coins.link : null);
    setAttr(node, 'data-live', f.live ? 'true' : 'false');
    setText(node.querySelector('[data-field="source"]'), f.broker || DASH);
    const said = [];
    if (f.link) said.push(`Quotes come from ${f.label}${f.live ? '' : ' (its market data is not live)'}`);
    if (coins) said.push(`coins from ${coins.label}${coins.live ? '' : ' (its crypto market data is not live)'}`);
    const title = said.join('; ');
    setAttr(node, 'title', title ? title[0].toUpperCase() + title.slice(1) : null);
  }

  /** Everything whose freshness depends on the clock (of the state drawn last): a value
   *  goes stale without any frame arriving. `tick`: the once-a-second call, which also
   *  draws the values held for rows out of view (a sweep after a link changed does not:
   *  they are drawn at most once a second). */
  function freshness(tick = true) {
    const state = shown;
    if (!state) return;
    const now = clock.serverNow();
    if (tick) for (const sym of heldQuotes.take()) renderQuoteRow(state, sym, false, now, true);
    if (sorting.get('watchlist')) reconcileWatchlist(state); // sorted by live values: once a second
    staleInView = 0;
    for (const [sym, row] of quoteRows) {
      quoteFreshness(state, sym, row, now);
      const q = state.quotes.get(sym);
      if (q && quoteStale(q, now, state.freshness)) staleInView++;
    }
    const marks = accounts.freshness(state, { now, clientNow: clock.now(), tick });
    delayedInView = marks.delayed;
    staleInView += marks.stale;
    if (totals.render(state, now)) delayedInView = true;
    for (const sym of state.watchlist.symbols) if (state.quotes.get(sym)?.delayed) delayedInView = true;
    renderPill(state);
  }

  /** Draw what differs from the state drawn last (`flash`: values that moved flash). */
  function render(next, flash) {
    const prev = shown;
    shown = next;
    const all = !prev || prev.snapshots !== next.snapshots;
    const structural = all || !sameKeys(prev.accounts, next.accounts) || !sameKeys(prev.orders, next.orders) || !sameKeys(prev.links, next.links);
    const now = clock.serverNow();
    const ctx = { all, flash: !!flash && !structural, now, clientNow: clock.now() };
    let sweep = structural;
    if (all || next.links !== prev.links) {
      reconcileLinks(next);
      for (const [id, l] of next.links) if (all || l !== prev.links.get(id)) renderLink(id, l);
      sweep = true; // link states move every account's freshness
    }
    if (accounts.render(prev, next, ctx)) delayedInView = true;
    if (totals.render(next, now)) delayedInView = true;
    const listChanged = all || next.watchlist !== prev.watchlist || next.rejected !== prev.rejected;
    if (listChanged) reconcileWatchlist(next);
    for (const sym of next.watchlist.symbols) {
      if (listChanged || next.quotes.get(sym) !== prev.quotes.get(sym)) renderQuoteRow(next, sym, ctx.flash, now);
    }
    orders.render(prev, next, ctx);
    const sim = isSimulated(next);
    if (sim !== shownSimulated) renderSimulated((shownSimulated = sim));
    position(next);
    if (sweep) freshness(false);
    else renderPill(next);
  }

  /** #dashboard[data-position]: the position the page holds (at once, not at the next frame). */
  function position(state) {
    setAttr(root, 'data-position', formatPosition(state.epoch, state.seq) || '');
  }

  /** The connection pill (`live`, `sse`, `polling`, `reconnecting`, `offline`, `connecting`). */
  function connection(status) {
    setText(els.conn, status);
    setAttr(els.conn, 'data-state', status);
    setAttr(doc.body, 'data-conn', status);
  }

  /** Draw everything again (the time zone changed: every time on the page). */
  function redraw() {
    const s = shown;
    shown = null;
    if (s) render(s, false);
  }

  /** The trader's sorts changed: put the rows in their new order now. */
  function sorted() {
    if (!shown) return;
    reconcileWatchlist(shown);
    accounts.reorder(shown);
  }

  return {
    render, freshness, position, connection, sorted, redraw,
    message: (text, kind) => showMessage(els.messages, text, kind),
    dataState: () => (els.dataState ? els.dataState.getAttribute('data-state') : null),
  };
}
