/*
 * Where a page opens the order ticket (docs/streaming-contract.md "In the browser"): the
 * rows' ⋯ menu (a position's Trade…, Close…, Protect… and an equity option's Roll…: the roll
 * picker, then one ticket; each by the position's instrument, its contract symbol: Alpaca's BTCUSD is the coin; a watchlist row's Trade…), a chain cell's
 * bid or ask (click, Enter or Space), the risk graph's "Trade …" button, and the orders
 * panel's Cancel, Replace… and "Cancel all working" (its `sd-order-action` events,
 * static/js/stream/render/orders.js), and a /risk strategy's Close… (its `sd-strategy-close` event,
 * static/js/risk/strategies.js: one multi-leg ticket) and Roll… (`sd-strategy-roll`: the roll
 * picker, as a position's Roll…). Delegated from the document, so rows drawn later have it too.
 */
import { groupName } from '../../stream/order-terms.js';
import { cancelQuestion } from '../../stream/orders.js';
import { fromPosition as instrumentOf } from '../../stream/instruments.js';
import { tradable } from './model.js';
import {
  fromChainCell, fromOrder, fromPosition, fromStrategy, fromSymbol, protectPosition,
} from './drafts.js';
import { accountChoices, protectRefusal, rollOffered } from './offers.js';
import { createTicket } from './dialog.js';
import { createRollPicker } from './roll-picker.js';
import { createTradingApi, resultLines } from '../api.js';

/** env: {doc, win, getState(), now() (server ms), fetch, message(text, kind), subscribe(symbols)}. */
export function createTrading(env) {
  const { doc, win } = env;
  const api = createTradingApi(doc, env.fetch);
  const ticket = createTicket({
    doc, api, getState: env.getState, now: env.now,
    randomUUID: () => win.crypto.randomUUID(),
    setTimeout: (fn, ms) => win.setTimeout(fn, ms), clearTimeout: (id) => win.clearTimeout(id),
    setInterval: (fn, ms) => win.setInterval(fn, ms), clearInterval: (id) => win.clearInterval(id),
    subscribe: env.subscribe,
  });
  const picker = createRollPicker({ doc, fetch: env.fetch, openTicket: (draft) => ticket.open(draft) });
  const quote = (sym) => env.getState().quotes.get(sym);
  const choices = () => accountChoices(env.getState().accounts);

  const tradeSymbol = (sym) => ticket.open(fromSymbol(sym, quote, choices()));

  /** The row menu's trading items for a row's ⋯ button: [{text, attr, run}]. */
  function menuItems(button) {
    const sym = button.getAttribute('data-row-menu');
    const row = button.closest('tr');
    const key = row && row.getAttribute('data-position');
    if (key) {
      const [number, symbol] = key.split('|');
      const acct = env.getState().accounts.get(number);
      const p = acct && acct.positions.get(symbol);
      if (!p || !instrumentOf(p)) return []; // a kind the app does not act on (a bond)
      const items = [{ text: 'Trade…', attr: 'data-menu-trade', run: () => ticket.open(fromPosition(p, acct, quote, 'trade')) }];
      if (!(Number(p.quantity) > 0)) return items;
      items.push({ text: 'Close…', attr: 'data-menu-close', run: () => ticket.open(fromPosition(p, acct, quote, 'close')) });
      // Protect… where the broker links orders of the kind; elsewhere it says why
      const why = protectRefusal(acct.broker, p);
      items.push({ text: 'Protect…', attr: 'data-menu-protect', run: () => (why ? env.message(why, 'error') : ticket.open(protectPosition(p, acct, quote))) });
      if (rollOffered(acct.broker, p)) items.push({ text: 'Roll…', attr: 'data-menu-roll', run: () => roll(p, acct) });
      return items;
    }
    return tradable(sym) ? [{ text: 'Trade…', attr: 'data-menu-trade', run: () => tradeSymbol(sym) }] : [];
  }

  /** Roll…: the roll picker (roll-picker.js), then ONE ticket from the row chosen. */
  const roll = (position, acct) => picker.open({
    account: acct.number, symbol: position.streamer_symbol, title: instrumentOf(position).display,
  });

  /** A chain cell's ticket: the stream's quote, else the chain's own bid and ask (the
   *  cells show the chain's values until the option's first quote arrives). */
  function chainCell(cell) {
    const symbol = cell.getAttribute('data-trade-symbol');
    if (!symbol) return;
    const side = cell.getAttribute('data-side');
    const shown = (f) => {
      const td = cell.closest('tr').querySelector(`td[data-side="${side}"][data-field="${f}"]`);
      const v = td ? td.getAttribute('data-value') : '';
      return v === null || v === '' ? null : Number(v);
    };
    const own = (sym) => quote(sym) || (sym === symbol ? { bid: shown('bid'), ask: shown('ask') } : undefined);
    ticket.open({ ...fromChainCell(symbol, cell.getAttribute('data-field'), own, choices()), quote: own(symbol) });
  }
  doc.addEventListener('click', (ev) => {
    const target = ev.target.closest ? ev.target : null;
    if (!target) return;
    const cell = target.closest('[data-trade-symbol]');
    if (cell) { chainCell(cell); return; }
    const riskButton = target.closest('[data-risk-trade]');
    if (riskButton) tradeSymbol(riskButton.getAttribute('data-risk-trade'));
  });
  doc.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    const cell = ev.target.closest && ev.target.closest('[data-trade-symbol]');
    if (cell) { ev.preventDefault(); chainCell(cell); }
  });

  // a strategy's Close… on /risk: its option legs closed in one ticket, in its own account
  doc.addEventListener('sd-strategy-close', (ev) => {
    const { strategy } = ev.detail;
    const draft = fromStrategy(strategy, env.getState().accounts.get(String(strategy.account)), quote);
    if (draft) ticket.open(draft);
    else env.message(`Account ${strategy.account} is not on the stream yet: try again in a moment.`, 'error');
  });

  // a strategy's Roll… on /risk: the roll picker for its option legs, in its own account
  doc.addEventListener('sd-strategy-roll', (ev) => {
    const { strategy } = ev.detail;
    picker.open({
      account: strategy.account, strategy: strategy.key,
      title: `${strategy.name} ${strategy.display || strategy.underlying} (${strategy.account})`,
    });
  });

  // the orders panel (static/js/stream/render/orders.js): one order's Cancel and Replace…, and cancel-all
  doc.addEventListener('sd-order-action', async (ev) => {
    const { action, order, link, account } = ev.detail;
    if (action === 'replace') { ticket.open(fromOrder(order, link, account)); return; }
    if (action === 'cancel') {
      // a linked order's member: the broker cancels its group, so the question is about it
      if (!win.confirm(cancelQuestion(order, env.getState().orders.values(), account))) return;
      const r = await api.cancel(link, order.id);
      const status = r.ok && r.body && r.body.cancel ? r.body.cancel.status : '';
      const what = order.group ? `the ${groupName(order, null, 'group')}` : `order ${order.id}`;
      env.message(r.ok ? `Cancel sent for ${what}${status ? `: ${status}` : ''}.` : r.error, r.ok ? 'info' : 'error');
      return;
    }
    if (action === 'cancel-all') {
      if (!win.confirm(`Cancel every working order of account ${account}?`)) return;
      const r = await api.cancelAll(link, account);
      if (!r.ok) { env.message(r.error, 'error'); return; }
      const lines = resultLines(r.body && r.body.results);
      if (!lines.length) env.message(`No working orders in ${account}.`, 'info');
      for (const line of lines) env.message(line.text, line.ok ? 'info' : 'error');
    }
  });

  return {
    menuItems,
    tradeSymbol,
    open: (draft) => ticket.open(draft),
    render: () => ticket.render(),
  };
}
