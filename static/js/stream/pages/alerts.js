/*
 * The /alerts page: the form creates or edits an alert (`POST` / `PATCH /api/alerts`),
 * rows delete (`DELETE`); each alert is named by its display name (`BTC/USD`, the
 * contract symbol in its title); the list is the API's answer after each write, and live: each
 * active alert's price and distance to its level from the stream's quotes (alerts.js);
 * the triggered history is the state's `alertTriggers` (snapshot + `alert` frames). The
 * form has one error line: each error replaces the last; a keystroke or a new submit clears it.
 */
import { alertBody, alertDistance, alertPrice, conditionText } from '../alerts.js';
import { send } from '../io/alerts.js';
import { quoteStale } from '../contract.js';
import { el, markCell, reconcileChildren, setText } from '../render/dom.js';
import { fmt, quoteWhy } from '../format.js';
import { toWallTime } from '../times.js';

/** A time as the app shows every time (times.js: the trader's zone, named). */
const localTime = (ms) => (ms ? fmt.when(ms, Date.now()) : 'never');
/** An epoch ms as a `datetime-local` value in the zone shown (what the form reads back). */
const localInput = (ms) => (ms ? toWallTime(ms) : '');
const money = (v) => (v === null ? '—' : Math.abs(v) < 1 ? v.toFixed(4) : v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }));
/** An alert as a trader reads it: its instrument's display name (the server's). */
const nameOf = (alert) => alert.display || alert.symbol;

/**
 * root: #alerts-page; url: the API; alerts(): the active alerts shown; adopt(list): take the
 * API's list; symbols(list): stream these symbols as the tab's own; message(text, kind).
 */
export function createAlertsPage({ doc, root, url, fetch, adopt, symbols, message }) {
  const form = doc.getElementById('alert-form');
  const rows = doc.getElementById('alert-rows');
  const triggers = doc.getElementById('alert-triggers');
  const error = form.querySelector('[data-alert-error]');
  const submit = form.querySelector('[data-submit]');
  const cancel = form.querySelector('[data-cancel-edit]');
  const title = root.querySelector('[data-form-title]');
  let shown = null; // the alerts array last drawn
  let shownTriggers = null;
  let list = [];

  function editMode(alert) {
    form.dataset.editing = alert ? String(alert.id) : '';
    setText(submit, alert ? 'Save' : 'Create');
    setText(title, alert ? `Edit alert ${nameOf(alert)}` : 'New alert');
    cancel.hidden = !alert;
    error.textContent = '';
    if (alert) {
      form.elements.symbol.value = alert.symbol;
      form.elements.condition.value = alert.condition;
      form.elements.level.value = String(alert.level);
      form.elements.rearm.checked = !!alert.rearm;
      form.elements.expires.value = localInput(alert.expires_at);
      form.elements.level.focus();
    } else {
      form.reset();
    }
  }

  async function refresh() {
    const r = await send(doc, fetch, 'GET', url);
    if (r.ok && r.body) {
      adopt(r.body.alerts);
      symbols(r.body.alerts.filter((a) => a.active).map((a) => a.symbol));
    }
  }

  const clearError = () => { if (error.textContent) error.textContent = ''; };
  form.addEventListener('input', clearError);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    const f = form.elements;
    const made = alertBody({ symbol: f.symbol.value, condition: f.condition.value, level: f.level.value, rearm: f.rearm.checked, expires: f.expires.value });
    if (made.error) { error.textContent = made.error; return; }
    const editing = form.dataset.editing;
    form.setAttribute('aria-busy', 'true');
    const r = editing ? await send(doc, fetch, 'PATCH', `${url}/${editing}`, made.body) : await send(doc, fetch, 'POST', url, made.body);
    form.removeAttribute('aria-busy');
    if (!r.ok) { error.textContent = r.error; return; }
    message(`${editing ? 'Alert saved' : 'Alert created'}: ${nameOf(r.body)} ${conditionText(r.body)}.`, 'info');
    editMode(null);
    await refresh();
  });
  cancel.addEventListener('click', () => editMode(null));

  rows.addEventListener('click', async (ev) => {
    const edit = ev.target.closest('[data-edit]');
    if (edit) {
      const alert = list.find((a) => String(a.id) === edit.getAttribute('data-edit'));
      if (alert) editMode(alert);
      return;
    }
    const del = ev.target.closest('[data-delete]');
    if (!del) return;
    const r = await send(doc, fetch, 'DELETE', `${url}/${del.getAttribute('data-delete')}`);
    if (!r.ok && r.status !== 404) { message(r.error); return; }
    if (form.dataset.editing === del.getAttribute('data-delete')) editMode(null);
    await refresh();
  });

  function buildRow(a) {
    return el('tr', { 'data-alert': a.id, 'data-symbol': a.symbol },
      el('th', { scope: 'row', class: 'col-sym', title: a.symbol }, nameOf(a)),
      el('td', { 'data-field': 'condition' }, conditionText(a)),
      el('td', { class: 'num', 'data-field': 'price' }, '—'),
      el('td', { class: 'num', 'data-field': 'distance' }, '—'),
      el('td', { 'data-field': 'repeat' }, `${a.rearm ? 're-arms' : 'once'}${a.armed ? '' : ' (waiting to re-arm)'}`),
      el('td', { 'data-field': 'expires' }, localTime(a.expires_at)),
      el('td', { class: 'actions' },
        el('button', { type: 'button', class: 'btn', 'data-edit': a.id }, 'Edit'), ' ',
        el('button', { type: 'button', class: 'btn', 'data-delete': a.id, 'aria-label': `Delete alert ${a.id}` }, 'Delete')));
  }

  function render(state) {
    if (state.alerts !== shown) {
      shown = state.alerts;
      list = state.alerts;
      reconcileChildren(rows, list.map(buildRow));
      doc.getElementById('alerts-empty').hidden = list.length > 0;
    }
    for (const row of rows.children) {
      const alert = list.find((a) => String(a.id) === row.getAttribute('data-alert'));
      if (!alert) continue;
      const quote = state.quotes.get(alert.symbol);
      const price = row.querySelector('[data-field="price"]');
      const distance = row.querySelector('[data-field="distance"]');
      setText(price, money(alertPrice(quote)));
      setText(distance, alertDistance(alert, quote).text);
      // a price that is not live (contract "Staleness") is drawn stale, and its distance too
      const now = Date.now();
      const stale = !!quote && quoteStale(quote, now, state.freshness);
      const why = quote ? quoteWhy(quote, now, state.freshness) : null;
      markCell(price, stale, !!(quote && quote.delayed), why);
      markCell(distance, stale, !!(quote && quote.delayed), why);
    }
    if (state.alertTriggers !== shownTriggers) {
      shownTriggers = state.alertTriggers;
      reconcileChildren(triggers, state.alertTriggers.map((t) => el('li', { 'data-trigger': t.id },
        el('span', { class: 'trigger-msg' }, t.message), ' ', el('time', { 'data-ms': t.at }, localTime(t.at)))));
      doc.getElementById('triggers-empty').hidden = state.alertTriggers.length > 0;
    }
  }

  return { render, refresh };
}
