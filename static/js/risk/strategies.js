/*
 * The /risk page's strategies list and table rows, live: server-rendered at load; when the
 * stream's positions change (a fill, a position frame) the list is asked again
 * (`GET /api/risk/strategies`) and the tables' rows are rendered again by the server
 * (tables.js `reloadRows`): at most once per 2 s, never two at once.
 *
 * With trading (`env.trading`), each strategy's name cell has a Close… button
 * (`[data-strategy-close="<key>"]`) and a Roll… button (`[data-strategy-roll="<key>"]`):
 * the list is asked once at load (the rendered rows carry no legs), and a click raises
 * `sd-strategy-close` / `sd-strategy-roll` ({strategy}) on the document for the ticket
 * (static/js/trading/ticket/entry.js). Where the account's broker does not take the legs
 * in one order the button is disabled and its title says why.
 */
import { el, reconcileChildren } from '../stream/render/dom.js';
import { strategyCloseOffer, strategyRollOffer } from '../trading/ticket/offers.js';
import { createThrottle } from './graph.js';
import { reloadRows } from './tables.js';
import { positionsKey, strategyCells } from './strategy-rows.js';

const REFRESH_GAP_MS = 2000;
const NUMS = ['delta', 'theta', 'vega', 'net', 'max_profit', 'max_loss', 'breakevens'];

/** A strategy's Close… button (null: nothing to close in one ticket, e.g. stock alone). */
function closeButton(s, key, broker) {
  const offer = strategyCloseOffer(s, broker);
  if (!offer.offered && !offer.why) return null;
  const title = !offer.offered ? offer.why
    : offer.stockStays ? 'Close the option legs in one order; the shares stay (close them from their position\'s row).'
      : 'Close every leg in one order.';
  return el('button', {
    type: 'button', class: 'btn', 'data-strategy-close': key, disabled: !offer.offered, title,
    'aria-label': `Close ${s.name} ${s.display || s.underlying} (${s.account})…${offer.offered ? '' : `: ${offer.why}`}`,
  }, 'Close…');
}

/** A strategy's Roll… button (null: nothing to roll, e.g. stock alone): the roll picker for
 *  its option legs; disabled, its title saying why, where the broker takes no order of
 *  twice its option legs. */
function rollButton(s, key, broker) {
  const offer = strategyRollOffer(s, broker);
  if (!offer.offered && !offer.why) return null;
  return el('button', {
    type: 'button', class: 'btn', 'data-strategy-roll': key, disabled: !offer.offered,
    title: offer.offered ? 'Choose where to roll its option legs, then one order.' : offer.why,
    'aria-label': `Roll ${s.name} ${s.display || s.underlying} (${s.account})…${offer.offered ? '' : `: ${offer.why}`}`,
  }, 'Roll…');
}

/** A POP or P50 cell: the percentage, or "—" with the note as its title and, for a screen
 * reader, after the dash (as the server renders it). */
function oddsCell(c, key) {
  return el('td', { class: 'num', 'data-field': key, title: c[`${key}_title`] },
    c[key], c[`${key}_why`] ? el('span', { class: 'sr-only' }, ` ${c[`${key}_why`]}`) : null);
}

function row(s, i, brokerOf) {
  const c = strategyCells(s);
  const key = `${c.account}|${s.underlying}|${i}`; // the contract symbol, as the server keys it
  const close = brokerOf ? closeButton(s, key, brokerOf(c.account)) : null;
  const roll = brokerOf ? rollButton(s, key, brokerOf(c.account)) : null;
  return el('tr', { 'data-strategy': key, 'data-name': c.name },
    el('th', { scope: 'row' }, c.name, close && ' ', close, roll && ' ', roll), el('td', { class: 'col-sym' }, c.underlying), el('td', {}, c.account),
    el('td', {}, c.legs), el('td', {}, c.expirations),
    ...NUMS.map((k) => el('td', { class: 'num', 'data-field': k }, c[k])), oddsCell(c, 'pop'), oddsCell(c, 'p50'));
}

/**
 * The row drawn before (`old`), its changed cells taken from `fresh`: the elements that did
 * not change stay, so a Close… or Roll… button keeps its focus, and a dialog it opened
 * hands the focus back to it, while the odds of the row move. A row of another shape (or
 * none drawn) is `fresh` whole.
 */
function patchRow(old, fresh) {
  if (!old || old.children.length !== fresh.children.length) return fresh;
  old.setAttribute('data-name', fresh.getAttribute('data-name'));
  const cells = Array.from(fresh.children);
  Array.from(old.children).forEach((cell, i) => {
    if (!cell.isEqualNode(cells[i])) cell.replaceWith(cells[i]);
  });
  return old;
}

/** Each account's broker, as a key: the Close… buttons change when it does. */
const brokersKey = (accounts) => Array.from(accounts.values(), (a) => `${a.number}:${a.broker || ''}`).sort().join(',');

/** env: {fetch, now, setTimeout, clearTimeout, pageUrl, trading, onList (each new list),
 *  pageAccounts (the accounts of the snapshot the server rendered the rows from)}; returns
 *  {render(state), refreshes(), rowReloads()}. */
export function createStrategiesList(doc, env) {
  const body = () => doc.getElementById('risk-strategy-rows');
  let accounts = null;
  // the positions the rows on the page show: the page's own snapshot's. This module loads
  // after the page, and a fill may reach the stream's state first: its first state is
  // compared with what the server rendered, not taken as current (null: the first state)
  let key = env.pageAccounts ? positionsKey(env.pageAccounts) : null;
  let brokers = null;
  let list = null; // the last list asked (null: the page's own rows, without legs)
  let byKey = new Map();
  let asked = 0; // the newest answer drawn wins: an older one (a slow load) is dropped
  let drawnSeq = 0;
  let refreshes = 0;
  let rowReloads = 0;

  function draw() {
    if (!list) return;
    const brokerOf = env.trading && accounts ? (number) => { const a = accounts.get(number); return a ? a.broker : ''; } : null;
    const fresh = list.map((s, i) => row(s, i, brokerOf));
    byKey = new Map(list.map((s, i) => [fresh[i].getAttribute('data-strategy'), s]));
    const tbody = body();
    if (!tbody) return;
    const drawn = new Map(Array.from(tbody.children, (tr) => [tr.getAttribute('data-strategy'), tr]));
    reconcileChildren(tbody, fresh.map((tr) => patchRow(drawn.get(tr.getAttribute('data-strategy')), tr)));
    const empty = doc.getElementById('risk-strategies-empty');
    if (empty) empty.hidden = list.length > 0;
  }

  /** Ask the list; draw it unless a newer answer was drawn already. */
  async function askList() {
    const seq = ++asked;
    const r = await env.fetch('/api/risk/strategies', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!r.ok) return false; // the rows stay as they were; the next change asks again
    const answer = await r.json();
    if (seq < drawnSeq) return true;
    drawnSeq = seq;
    list = answer.strategies || [];
    draw();
    if (env.onList) env.onList(list);
    return true;
  }

  const throttle = createThrottle(async () => {
    const [listed, reloaded] = await Promise.all([
      askList(),
      reloadRows(doc, env.fetch, env.pageUrl()).catch(() => false),
    ]);
    if (reloaded) rowReloads += 1;
    if (listed) refreshes += 1;
  }, REFRESH_GAP_MS, env);

  if (env.trading) {
    askList().catch(() => {});
    // Close… and Roll…: the ticket's (static/js/trading/ticket/entry.js)
    for (const [attr, event] of [['data-strategy-close', 'sd-strategy-close'], ['data-strategy-roll', 'sd-strategy-roll']]) {
      doc.addEventListener('click', (ev) => {
        const button = ev.target.closest ? ev.target.closest(`[${attr}]`) : null;
        const strategy = button && byKey.get(button.getAttribute(attr));
        if (!strategy || button.disabled) return;
        doc.dispatchEvent(new CustomEvent(event, { detail: { strategy } }));
      });
    }
  }

  return {
    render(state) {
      if (state.accounts === accounts) return;
      accounts = state.accounts;
      const next = positionsKey(state.accounts);
      if (key !== null && next !== key) throttle.request();
      key = next;
      const nextBrokers = brokersKey(state.accounts);
      if (env.trading && nextBrokers !== brokers) { brokers = nextBrokers; draw(); }
    },
    refreshes: () => refreshes,
    rowReloads: () => rowReloads,
  };
}
