/*
 * The /risk page's strategies list and table rows, live: server-rendered at load; when the
 * stream's positions change (a fill, a position frame) the list is asked again
 * (`GET /api/risk/strategies`) and the tables' rows are rendered again by the server
 * (risk-tables.js `reloadRows`): at most once per 2 s, never two at once.
 */
import { el, reconcileChildren } from '../stream/dom.js';
import { createThrottle } from './risk-graph.js';
import { reloadRows } from './risk-tables.js';
import { positionsKey, strategyCells } from './strategy-rows.js';

const REFRESH_GAP_MS = 2000;
const NUMS = ['delta', 'theta', 'vega', 'net', 'max_profit', 'max_loss', 'breakevens'];

function row(s, i) {
  const c = strategyCells(s);
  return el('tr', { 'data-strategy': `${c.account}|${c.underlying}|${i}`, 'data-name': c.name },
    el('th', { scope: 'row' }, c.name), el('td', { class: 'col-sym' }, c.underlying), el('td', {}, c.account),
    el('td', {}, c.legs), el('td', {}, c.expirations),
    ...NUMS.map((k) => el('td', { class: 'num', 'data-field': k }, c[k])));
}

/** env: {fetch, now, setTimeout, clearTimeout, pageUrl}; returns {render(state), refreshes(), rowReloads()}. */
export function createStrategiesList(doc, env) {
  const body = () => doc.getElementById('risk-strategy-rows');
  let accounts = null;
  let key = null; // null until the first state: the page's own rows are current
  let refreshes = 0;
  let rowReloads = 0;
  const throttle = createThrottle(async () => {
    const [r, reloaded] = await Promise.all([
      env.fetch('/api/risk/strategies', { credentials: 'same-origin', headers: { Accept: 'application/json' } }),
      reloadRows(doc, env.fetch, env.pageUrl()).catch(() => false),
    ]);
    if (reloaded) rowReloads += 1;
    if (!r.ok) return; // the rows stay as they were; the next change asks again
    const answer = await r.json();
    refreshes += 1;
    const list = answer.strategies || [];
    if (body()) reconcileChildren(body(), list.map(row));
    const empty = doc.getElementById('risk-strategies-empty');
    if (empty) empty.hidden = list.length > 0;
  }, REFRESH_GAP_MS, env);

  return {
    render(state) {
      if (state.accounts === accounts) return;
      accounts = state.accounts;
      const next = positionsKey(state.accounts);
      if (key !== null && next !== key) throttle.request();
      key = next;
    },
    refreshes: () => refreshes,
    rowReloads: () => rowReloads,
  };
}
