/*
 * The account cards: header, balances, P&L totals and the positions table, reconciled with
 * the state (page.js decides when; format.js computes what). The server renders the same
 * markup first (templates/streaming/dashboard.html); the cards it made are adopted.
 */
import { rowMenuButton } from './row-menu.js';
import { kindsOf, num } from '../contract.js';
import { createHeldRedraws, createVisibility } from './visibility.js';
import { sortItems, validSort } from '../sort.js';
import { betaTitle, ivRankTitle, metricsOf, positionExposure, underlyingOf } from '../exposure.js';
import { markSorted, sortableHeaders } from './sort-headers.js';
import { cellsOf, delayedBadge, el, markCell, reconcileChildren, sameKeys, setAttr, setCell, setText } from './dom.js';
import {
  DASH, accountPnl, accountView, asOfText, fmt, isOption, markOf, markView, positionDelta, positionPnl, symbolLabel,
} from '../format.js';

const POSITION_COLS = ['quantity', 'mark', 'day_pnl', 'open_pnl', 'average_open_price', 'delta', 'position_delta', 'gamma', 'theta', 'vega', 'iv'];
// [visible label, unit suffix, title]: greeks are per share, as the brokers send them (as the template's header)
const POSITION_HEADS = [
  ['Symbol', '', ''],
  ['Qty', '', 'Quantity (negative: short)'],
  ['Mark', '', 'Mark: mid of the live bid and ask'],
  ['Day P&L', '', 'Day P&L from the live mark'],
  ['Open P&L', '', 'Open P&L from the live mark'],
  ['Avg', '', 'Average open price'],
  ['Δ', '', 'Delta per share'],
  ['Pos Δ', '', 'Position delta: delta × quantity × multiplier'],
  ['Γ', '', 'Gamma per share'],
  ['Θ', '/sh', 'Theta per share, per day (a contract: × its multiplier)'],
  ['Vega', '/sh', 'Vega per share, per vol point (a contract: × its multiplier)'],
  ['IV', '', 'Implied volatility'],
];
// β-weighted delta and IV rank (exposure.js): not sortable (sort.js lists the sortable ones)
const RISK_COLS = ['beta_delta', 'iv_rank'];
const RISK_HEADS = [
  ['β-Δ', 'β-weighted delta in SPY shares: β × underlying price × position delta ÷ SPY price'],
  ['IVR', "The underlying's IV rank (0–100)"],
];
// the probability of profit of the strategy an option position is part of: render/odds.js fills it
const POP_HEAD = ['POP', "Probability of profit of the position's strategy (as on the risk page), at expiration"];
const BALANCE_FIELDS = ['net_liquidating_value', 'buying_power', 'cash', 'derivative_buying_power', 'maintenance_requirement', 'cash_available_to_withdraw'];

const linkOf = (state, acct) => (acct.link === null || acct.link === undefined ? null : state.links.get(String(acct.link)) || null);

function buildPositionRow(acct, p) {
  const tr = el('tr', { 'data-position': `${acct.number}|${p.symbol}`, 'data-streamer': p.streamer_symbol || '', 'data-option': isOption(p) ? 'true' : null });
  tr.append(el('th', { scope: 'row', class: 'col-sym', 'data-field': 'symbol' }, el('span', { class: 'sym' }, ''), el('span', { class: 'sub' }, ''), rowMenuButton(p.streamer_symbol || p.symbol)));
  for (const f of POSITION_COLS) tr.append(el('td', { class: f.endsWith('pnl') ? 'num pnl' : 'num', 'data-field': f }, DASH));
  for (const f of RISK_COLS) tr.append(el('td', { class: 'num', 'data-field': f }, DASH));
  tr.append(el('td', { class: 'num', 'data-field': 'pop' }, ''));
  return tr;
}

function buildBalance(label, field, cls) {
  return el('div', { class: `bal ${cls || ''}`.trim() }, el('dt', null, label), el('dd', { class: field.includes('pnl') ? 'num pnl' : 'num', 'data-field': field }, DASH));
}

function buildAccount(acct) {
  const thead = el('thead', null, el('tr', null, ...POSITION_HEADS.map(([label, unit, title], i) => el('th', {
    scope: 'col', class: i === 0 ? 'col-sym' : null, title: title || null, 'data-col': i ? POSITION_COLS[i - 1] : 'symbol',
  }, label, unit ? el('span', { class: 'unit' }, unit) : null)),
  ...RISK_HEADS.map(([label, title], i) => el('th', { scope: 'col', title, 'data-risk-col': RISK_COLS[i] }, label)),
  el('th', { scope: 'col', title: POP_HEAD[1], 'data-risk-col': 'pop' }, POP_HEAD[0])));
  return el('article', { class: 'card account', 'data-account': acct.number, 'data-account-link': acct.link ?? '', 'data-simulated': acct.simulated ? 'true' : 'false' },
    el('header', { class: 'account-head' },
      el('h2', { class: 'account-name' }, el('span', { 'data-field': 'name' }, ''), ' ', el('span', { class: 'acct-no', 'data-field': 'number' }, acct.number)),
      el('span', { class: 'account-meta' }, el('span', { 'data-field': 'broker' }, '')),
      el('span', { class: 'link-warn', 'data-field': 'link_state', hidden: true })),
    el('dl', { class: 'balances' },
      buildBalance('Net liq', 'net_liquidating_value', 'bal-main'),
      buildBalance('Buying power', 'buying_power', 'bal-main'),
      buildBalance('Cash', 'cash', 'bal-main'),
      buildBalance('Day P&L', 'total_day_pnl'),
      buildBalance('Open P&L', 'total_open_pnl'),
      buildBalance('Option BP', 'derivative_buying_power', 'bal-minor'),
      buildBalance('Maint. req.', 'maintenance_requirement', 'bal-minor'),
      buildBalance('Withdrawable', 'cash_available_to_withdraw', 'bal-minor')),
    el('div', { class: 'table-wrap' }, el('table', { class: 'grid positions' }, thead, el('tbody', { 'data-positions': acct.number }))),
    el('p', { class: 'no-positions muted', hidden: true }, 'No open positions.'));
}

/**
 * The cards of `document`. `render(prev, next, ctx)` redraws what differs between two
 * states (everything when `ctx.all`); `freshness(state, ctx)` re-marks what ages with the
 * clock, and draws the rows held out of view when `ctx.tick` (the once-a-second call).
 * ctx: {all, flash, now (server ms), clientNow, tick}. Both return whether a DELAYED value is in view.
 */
/** A position's value in a sortable column (sort.js), null when it has none. */
export function positionValue(state, p, col) {
  if (col === 'symbol') return symbolLabel(p).main;
  if (col === 'position_delta') return positionDelta(p, state.greeks);
  if (['delta', 'gamma', 'theta', 'vega', 'iv'].includes(col)) {
    const g = isOption(p) ? state.greeks.get(p.streamer_symbol || p.symbol) : null;
    return g ? num(g[col]) : null;
  }
  const v = positionPnl(p, state.quotes);
  return { quantity: v.qty, mark: v.mark, day_pnl: v.day, open_pnl: v.open, average_open_price: v.avg }[col] ?? null;
}

const NO_SORTING = { get: () => null, change() {} };

export function createAccountsView(doc, visibility = createVisibility(null), sorting = NO_SORTING) {
  const container = doc.getElementById('accounts');
  const empty = doc.getElementById('accounts-empty');
  const cards = new Map(); // account number -> article
  const rows = new Map(); // "<account>|<symbol>" -> tr
  const byStreamer = new Map(); // streamer symbol -> Set("<account>|<symbol>")
  // position rows out of view redraw at most once a second (visibility.js), and when seen
  const held = createHeldRedraws(); // "<account>|<symbol>" of rows not redrawn
  let drawn = null; // the state drawn last
  for (const a of doc.querySelectorAll('[data-account]')) cards.set(a.getAttribute('data-account'), a);
  for (const r of doc.querySelectorAll('tr[data-position]')) {
    rows.set(r.getAttribute('data-position'), r);
    visibility.watch(r);
  }

  function header(acct) {
    const art = cards.get(acct.number);
    const head = art.querySelector('.account-head');
    setText(head.querySelector('[data-field="name"]'), acct.label || acct.number);
    setText(head.querySelector('[data-field="broker"]'), acct.broker || '');
    setAttr(art, 'data-account-link', String(acct.link ?? ''));
    setAttr(art, 'data-simulated', acct.simulated ? 'true' : 'false');
    art.classList.toggle('is-sim', acct.simulated);
    const badge = art.querySelector('[data-badge="simulated"]');
    if (acct.simulated && !badge) head.insertBefore(el('span', { class: 'badge badge-sim', 'data-badge': 'simulated' }, 'SIMULATED'), head.querySelector('.link-warn'));
    else if (!acct.simulated && badge) badge.remove();
  }

  /** The position rows of an account, in the order of the positions' sort (`state`: their
   *  live values). */
  function reconcilePositions(acct, state) {
    const art = cards.get(acct.number);
    const prefix = `${acct.number}|`;
    const nodes = [];
    const sort = validSort('positions', sorting.get('positions'));
    for (const p of sortItems(acct.positions.values(), sort, (x, col) => positionValue(state, x, col))) {
      let row = rows.get(prefix + p.symbol);
      if (!row) {
        rows.set(prefix + p.symbol, (row = buildPositionRow(acct, p)));
        visibility.watch(row);
      }
      if (p.streamer_symbol) setAttr(row, 'data-streamer', p.streamer_symbol);
      if (!row._sdLabeled) { // "SPY 570P" over "exp 20 Mar 26"
        row._sdLabeled = true;
        const th = row.querySelector('[data-field="symbol"]');
        const { main, sub } = symbolLabel(p);
        setText(th.querySelector('.sym'), main);
        setText(th.querySelector('.sub'), sub);
        th.title = String(p.symbol);
      }
      nodes.push(row);
    }
    for (const key of Array.from(rows.keys())) {
      if (!key.startsWith(prefix) || acct.positions.has(key.slice(prefix.length))) continue;
      visibility.forget(rows.get(key));
      rows.delete(key);
    }
    reconcileChildren(art.querySelector('tbody[data-positions]'), nodes);
    art.querySelector('.no-positions').hidden = acct.positions.size > 0;
  }

  function reconcileCards(state) {
    for (const acct of state.accounts.values()) {
      if (cards.has(acct.number)) continue;
      cards.set(acct.number, buildAccount(acct));
    }
    for (const art of cards.values()) sortableHeaders(art.querySelector('table.positions'), 'positions', sorting);
    for (const [number, art] of cards) if (!state.accounts.has(number)) { cards.delete(number); art.remove(); }
    for (const key of Array.from(rows.keys())) {
      if (state.accounts.has(key.slice(0, key.indexOf('|')))) continue;
      visibility.forget(rows.get(key));
      rows.delete(key);
    }
    if (container) reconcileChildren(container, Array.from(state.accounts.keys(), (n) => cards.get(n)));
    if (empty) empty.hidden = state.accounts.size > 0;
  }

  function indexStreamers(state) {
    byStreamer.clear();
    for (const acct of state.accounts.values()) {
      for (const p of acct.positions.values()) {
        const ss = p.streamer_symbol || p.symbol;
        if (!byStreamer.has(ss)) byStreamer.set(ss, new Set());
        byStreamer.get(ss).add(`${acct.number}|${p.symbol}`);
      }
    }
  }

  function renderPosition(state, acct, p, av, ctx, force = false) {
    const key = `${acct.number}|${p.symbol}`;
    const row = rows.get(key);
    if (row && !force && !visibility.inView(row)) { // out of view: the next tick, or when seen
      held.hold(key);
      return false;
    }
    const delayed = positionFreshness(state, acct, p, av, ctx.now).delayed;
    if (!row) return delayed;
    const c = cellsOf(row);
    const v = positionPnl(p, state.quotes);
    setCell(c.quantity, fmt.qty(v.qty), v.qty);
    setCell(c.average_open_price, fmt.price(v.avg), v.avg);
    setCell(c.mark, fmt.price(v.mark), v.mark, { flash: ctx.flash });
    if (c.mark) c.mark.classList.toggle('broker-mark', !v.live && v.mark !== null);
    setCell(c.day_pnl, fmt.pnl(v.day), v.day, { signed: true });
    setCell(c.open_pnl, fmt.pnl(v.open), v.open, { signed: true });
    const posDelta = positionDelta(p, state.greeks);
    setCell(c.position_delta, fmt.delta(posDelta), posDelta, { signed: true });
    const g = isOption(p) ? state.greeks.get(p.streamer_symbol || p.symbol) : null; // greeks of options only
    const [delta, gamma, theta, vega, iv] = ['delta', 'gamma', 'theta', 'vega', 'iv'].map((k) => (g ? num(g[k]) : null));
    setCell(c.delta, fmt.greek(delta, 3), delta);
    setCell(c.gamma, fmt.greek(gamma, 4), gamma);
    setCell(c.theta, fmt.greek(theta, 3), theta);
    setCell(c.vega, fmt.greek(vega, 3), vega);
    setCell(c.iv, fmt.pct(iv), iv);
    return delayed;
  }

  /** Staleness and delay marks of a position row (ages grow: re-run every second). */
  function positionFreshness(state, acct, p, av, now) {
    const mv = markView(p, state.quotes, now, state.freshness);
    mv.quoted = mv.why !== '' && !mv.why.startsWith('no live quote');
    const row = rows.get(`${acct.number}|${p.symbol}`);
    if (!row) return mv;
    const c = cellsOf(row);
    const accountWhy = av.live ? '' : av.why;
    const pnlWhy = [mv.why, accountWhy].filter(Boolean).join('; ');
    renderRisk(state, p, c, now);
    markCell(c.quantity, !av.live, false, accountWhy);
    markCell(c.average_open_price, !av.live, false, accountWhy);
    markCell(c.position_delta, !av.live, false, accountWhy);
    markCell(c.mark, mv.stale, mv.delayed, mv.why);
    markCell(c.day_pnl, mv.stale || !av.live, mv.delayed, pnlWhy);
    markCell(c.open_pnl, mv.stale || !av.live, mv.delayed, pnlWhy);
    setAttr(row, 'data-stale', mv.stale || !av.live ? 'true' : 'false');
    setAttr(row, 'data-delayed', mv.delayed ? 'true' : 'false');
    delayedBadge(c.symbol, mv.delayed, true);
    return mv;
  }

  /** β-weighted delta and IV rank, each titled with its source and age (ages grow: run
   *  with the freshness marks, every second). */
  function renderRisk(state, p, c, now) {
    if (!c.beta_delta) return;
    const e = positionExposure(state, p, now);
    const m = metricsOf(state, underlyingOf(p));
    setCell(c.beta_delta, fmt.delta(e.beta_delta), e.beta_delta, { signed: true });
    setCell(c.iv_rank, e.iv_rank === null ? DASH : e.iv_rank.toFixed(0), e.iv_rank);
    setAttr(c.beta_delta, 'title', betaTitle(e.underlying, m, now));
    setAttr(c.iv_rank, 'title', ivRankTitle(e.underlying, m, now));
  }

  function renderBalance(acct, ctx) {
    const cells = cellsOf(cards.get(acct.number).querySelector('.balances'));
    for (const f of BALANCE_FIELDS) {
      const v = num(acct.balance[f]);
      setCell(cells[f], fmt.money(v), v, { flash: ctx.flash });
    }
  }

  function renderTotals(state, acct, av, ctx) {
    const cells = cellsOf(cards.get(acct.number).querySelector('.balances'));
    const { open, day, missing } = accountPnl(acct.positions.values(), state.quotes);
    setCell(cells.total_open_pnl, fmt.pnl(open), open, { signed: true });
    setCell(cells.total_day_pnl, fmt.pnl(day), day, { signed: true });
    for (const c of [cells.total_open_pnl, cells.total_day_pnl]) setAttr(c, 'data-partial', missing ? 'true' : null);
    totalsFreshness(state, acct, av, ctx.now);
  }

  /** Account totals are stale when any position's mark is, or the account data is. */
  function totalsFreshness(state, acct, av, now) {
    const cells = cellsOf(cards.get(acct.number).querySelector('.balances'));
    let staleMarks = 0;
    let delayed = false;
    for (const p of acct.positions.values()) {
      const mv = markView(p, state.quotes, now, state.freshness);
      if ((mv.stale || !av.live) && markOf(p, state.quotes).mark !== null) staleMarks++;
      if (mv.delayed) delayed = true;
    }
    const why = [
      accountPnl(acct.positions.values(), state.quotes).missing ? 'some positions have no price yet' : '',
      staleMarks ? `${staleMarks} position${staleMarks > 1 ? 's' : ''} valued at a stale or broker mark` : '',
      delayed ? 'includes DELAYED quotes' : '',
      av.live ? '' : av.why,
    ].filter(Boolean).join('; ');
    for (const c of [cells.total_open_pnl, cells.total_day_pnl]) markCell(c, staleMarks > 0 || !av.live, delayed, why);
  }

  /** Balances and the warning line: stale "as of" last_ok while the account kind is not live. */
  function accountFreshness(state, acct, av, clientNow) {
    const art = cards.get(acct.number);
    const link = linkOf(state, acct);
    setAttr(art, 'data-account-state', av.state);
    setAttr(art, 'data-fresh', av.live ? 'true' : 'false');
    setAttr(art, 'data-link-state', link ? String(link.state || 'stopped') : null);
    art.classList.toggle('is-stale', !av.live);
    const cells = cellsOf(art.querySelector('.balances'));
    for (const f of BALANCE_FIELDS) markCell(cells[f], !av.live, false, av.why);
    const warn = art.querySelector('[data-field="link_state"]');
    let text = '';
    if (!av.live) {
      const k = kindsOf(link).account;
      text = `account ${av.state}${k.reason ? `: ${k.reason}` : ''} · ${asOfText(av.asOf, clientNow)}`;
    } else if (link && link.state && link.state !== 'live') {
      text = `link ${link.state}${link.reason ? `: ${link.reason}` : ''}`;
    }
    warn.hidden = !text;
    setText(warn, text);
  }

  function render(prev, next, ctx) {
    drawn = next;
    const all = ctx.all || !sameKeys(prev.accounts, next.accounts);
    if (all) reconcileCards(next);
    const redraw = new Map(); // account number -> symbols of the positions to redraw (and its totals)
    const mark = (number, sym) => {
      if (!redraw.has(number)) redraw.set(number, new Set());
      if (sym !== undefined) redraw.get(number).add(sym);
    };
    for (const acct of next.accounts.values()) {
      const old = all ? null : prev.accounts.get(acct.number);
      if (acct === old) continue;
      header(acct);
      mark(acct.number);
      if (!old || acct.positions !== old.positions) {
        if (!old || !sameKeys(old.positions, acct.positions)) reconcilePositions(acct, next);
        for (const [sym, p] of acct.positions) if (!old || p !== old.positions.get(sym)) mark(acct.number, sym);
      }
      if (!old || acct.balance !== old.balance) renderBalance(acct, ctx);
    }
    if (all || next.accounts !== prev.accounts) indexStreamers(next);
    // live marks and greeks move positions
    for (const [map, prevMap] of [[next.quotes, prev && prev.quotes], [next.greeks, prev && prev.greeks]]) {
      if (all || map === prevMap) continue;
      for (const [sym, v] of map) {
        if (v === prevMap.get(sym)) continue;
        for (const key of byStreamer.get(sym) || []) mark(key.slice(0, key.indexOf('|')), key.slice(key.indexOf('|') + 1));
      }
    }
    let delayed = false;
    for (const [number, symbols] of redraw) {
      const acct = next.accounts.get(number);
      const av = accountView(linkOf(next, acct), ctx.clientNow);
      for (const sym of symbols) {
        const p = acct.positions.get(sym);
        if (p && renderPosition(next, acct, p, av, ctx)) delayed = true;
      }
      renderTotals(next, acct, av, ctx);
    }
    return delayed;
  }

  /** Re-mark what ages; returns {delayed, stale}: whether a DELAYED value is in view, and
   *  how many positions are valued at a stale live quote (the data pill counts them). */
  function freshness(state, ctx) {
    let delayed = false;
    let stale = 0;
    if (ctx.tick !== false) redrawHeld(state, ctx, held.take()); // out of view: once a second
    if (sorting.get('positions')) reorder(state); // live values move: once a second
    for (const acct of state.accounts.values()) {
      const av = accountView(linkOf(state, acct), ctx.clientNow);
      accountFreshness(state, acct, av, ctx.clientNow);
      for (const p of acct.positions.values()) {
        const mv = positionFreshness(state, acct, p, av, ctx.now);
        if (mv.delayed) delayed = true;
        if (mv.stale && mv.quoted) stale++;
      }
      totalsFreshness(state, acct, av, ctx.now);
    }
    return { delayed, stale };
  }

  /** Draw held rows (`keys`) now, in view or not. */
  function redrawHeld(state, ctx, keys) {
    for (const key of keys) {
      const i = key.indexOf('|');
      const acct = state.accounts.get(key.slice(0, i));
      const p = acct && acct.positions.get(key.slice(i + 1));
      if (p) renderPosition(state, acct, p, accountView(linkOf(state, acct), ctx.clientNow), { ...ctx, flash: false }, true);
    }
  }

  /** A row came into view: draw it now if it missed a redraw (`now`: server ms). */
  function shown(row, now, clientNow) {
    const key = row.getAttribute('data-position');
    if (key === null || !drawn || !held.release(key)) return;
    redrawHeld(drawn, { now, clientNow, flash: false }, [key]);
  }

  /** Put every account's rows in the order of the positions' sort now (after a header
   *  click, and every second while a sort is set: live values move). */
  function reorder(state) {
    for (const acct of state.accounts.values()) if (cards.has(acct.number)) reconcilePositions(acct, state);
    for (const art of cards.values()) markSorted(art.querySelector('table.positions'), validSort('positions', sorting.get('positions')));
  }

  return { render, freshness, shown, reorder };
}
