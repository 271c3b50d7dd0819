/*
 * The dashboard's orders panel (templates/streaming/_orders_panel.html; the rules are
 * orders.js): one entry per order with its broker and account, the account and status
 * filters, the bounded list from the state and, on "Older…", pages of older orders from
 * `GET /api/orders` (docs/streaming-contract.md "Orders"); and the links to the CSV files,
 * pointed at the filtered account and the page's time zone. A working order has Cancel and
 * Replace… (`[data-order-cancel]`, `[data-order-replace]`), the filtered account "Cancel all
 * working" (`#orders-cancel-all`): each is an `sd-order-action` event on the document,
 * `{action: cancel | replace | cancel-all, order, link, account}`, that the trading module
 * (static/js/trading/ticket/entry.js) acts on. Each leg by its display name (its broker symbol
 * in the title); a working exit larger than its position says so (`[data-field=oversize]`,
 * the row's `data-oversize="true"`: orders.js `oversizedExits`). DOM only; never innerHTML.
 */
import { timeMs } from '../contract.js';
import { el, highlight, reconcileChildren, setAttr, setText } from './dom.js';
import { fmt, timeZone } from '../format.js';
import { fillText, groupText, legFilledText, legText, orderTerms, underlyingText } from '../order-terms.js';
import {
  PAGE_SIZE, STATUS_GROUPS, accountName, accountOf, addOlderPage, exportHref, keepGone, linkOf, noOlder, olderCursor,
  olderQuery, oversizedExits, panelList, statusGroup,
} from '../orders.js';


export function createOrdersView(doc) {
  const $ = (id) => doc.getElementById(id);
  const win = doc.defaultView;
  const els = {
    panel: $('orders-panel'), list: $('orders'), empty: $('orders-empty'), note: $('orders-note'),
    older: $('orders-older'), account: $('orders-account'), status: $('orders-status'),
  };
  const url = (els.panel && els.panel.getAttribute('data-orders-url')) || '/api/orders';
  const orderEls = new Map(); // key -> li
  const drawn = new Map(); // key -> {order, name, older}: what each li shows
  for (const li of doc.querySelectorAll('#orders > li[data-order]')) orderEls.set(li.getAttribute('data-order'), li);
  let filter = { account: '', status: 'all' };
  let older = noOlder();
  let generation = 0; // a filter change makes an answer in flight obsolete
  let loading = false;
  let note = '';
  let shown = null; // the state drawn last
  let accountsShown = '';

  // ------------------------------------------------------------ controls

  if (els.status && !els.status.options.length) {
    for (const [value, label] of Object.entries(STATUS_GROUPS)) els.status.append(el('option', { value }, label));
  }
  const changed = () => {
    filter = { account: els.account ? els.account.value : '', status: els.status ? els.status.value : 'all' };
    older = noOlder();
    generation += 1;
    loading = false;
    note = '';
    exportLinks();
    if (!shown) return;
    draw(shown, { all: false, flash: false });
    // a filter that leaves less than a page of the state's orders reads the next page at
    // once: an account's newest orders may all be older than the other accounts' newest 50
    const filtered = filter.account || filter.status !== 'all';
    if (filtered && els.list && els.list.childElementCount < PAGE_SIZE) loadOlder();
  };
  if (els.account) els.account.addEventListener('change', changed);
  if (els.status) els.status.addEventListener('change', changed);
  if (els.older) els.older.addEventListener('click', () => loadOlder());

  // acting on orders: the trading module hears these (static/js/trading/ticket/entry.js)
  const act = (action, order, link, account) => doc.dispatchEvent(new win.CustomEvent('sd-order-action', { detail: { action, order, link, account } }));
  if (els.list) {
    els.list.addEventListener('click', (ev) => {
      const b = ev.target.closest && ev.target.closest('[data-order-cancel], [data-order-replace]');
      const li = b && b.closest('li[data-order]');
      const d = li && drawn.get(li.getAttribute('data-order'));
      if (d) act(b.hasAttribute('data-order-cancel') ? 'cancel' : 'replace', d.order, linkOf(d.order), accountOf(d.order));
    });
  }
  const tools = els.panel && els.panel.querySelector('.orders-tools');
  const cancelAll = tools ? el('button', { type: 'button', id: 'orders-cancel-all', class: 'btn', hidden: true }, 'Cancel all working') : null;
  if (cancelAll) {
    tools.append(cancelAll);
    cancelAll.addEventListener('click', () => {
      const acct = shown && shown.accounts.get(filter.account);
      if (acct) act('cancel-all', null, Number(acct.link), filter.account);
    });
  }

  /** Every export link gets the zone the page shows times in (the trader's, else the
   *  browser's: format.js); the panel's, the filtered account. */
  function exportLinks() {
    const zone = timeZone();
    for (const a of doc.querySelectorAll('a[data-export]')) {
      const path = a.getAttribute('href').split('?')[0];
      const box = a.closest('[data-exports]');
      const account = box && box.getAttribute('data-exports') === 'orders' ? filter.account : (box && box.getAttribute('data-export-account')) || '';
      setAttr(a, 'href', exportHref(path, account, zone));
    }
  }
  exportLinks();

  async function loadOlder() {
    if (loading || older.done || !shown) return;
    const asked = generation;
    loading = true;
    note = '';
    draw(shown, { all: false, flash: false });
    const query = olderQuery(filter, olderCursor(shown.orders.values(), older), PAGE_SIZE);
    let message = '';
    try {
      const r = await win.fetch(`${url}?${query}`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      let body = null;
      try { body = await r.json(); } catch (e) { body = null; }
      if (asked !== generation) return;
      if (!r.ok || !body || !Array.isArray(body.orders)) {
        message = `Older orders could not be loaded: ${(body && body.error) || `HTTP ${r.status}`}`;
      } else {
        older = addOlderPage(older, body);
        const problems = (Array.isArray(body.incomplete) ? body.incomplete : []).map((i) => String(i.error || ''));
        message = problems.filter(Boolean).join(' · ') || (older.done ? 'No older orders.' : '');
      }
    } catch (e) {
      if (asked !== generation) return;
      message = `Older orders could not be loaded: ${e.message || 'network error'}`;
    }
    loading = false;
    note = message;
    draw(shown, { all: false, flash: false });
  }

  function controls() {
    if (cancelAll) {
      const acct = shown && filter.account ? shown.accounts.get(filter.account) : null;
      cancelAll.hidden = !acct;
      setText(cancelAll, acct ? `Cancel all working (${filter.account})` : 'Cancel all working');
    }
    if (els.older) {
      els.older.hidden = !els.panel || older.done;
      els.older.disabled = loading;
      setAttr(els.older, 'aria-busy', loading ? 'true' : 'false');
      setText(els.older, loading ? 'Loading older orders…' : 'Older…');
    }
    if (els.note) {
      setText(els.note, note);
      els.note.hidden = !note;
    }
  }

  /** The account filter's options: every account the page knows (the cards'), kept in step. */
  function accountOptions(state) {
    if (!els.account) return;
    const accounts = Array.from(state.accounts.values(), (a) => [a.number, `${a.broker || ''} · ${[a.label, a.number].filter(Boolean).join(' ')}`]);
    const signature = JSON.stringify(accounts);
    if (signature === accountsShown) return;
    accountsShown = signature;
    const selected = els.account.value;
    const options = [el('option', { value: '' }, 'All accounts'), ...accounts.map(([value, label]) => el('option', { value }, label))];
    els.account.replaceChildren(...options);
    // an account that went away stays chosen (its orders may still be listed) until changed
    if (selected && !accounts.some(([n]) => n === selected)) els.account.append(el('option', { value: selected }, selected));
    els.account.value = selected;
  }

  // ------------------------------------------------------------ entries

  function renderOrder(li, o, name, isOlder, sim, flash, oversize, size) {
    setAttr(li, 'data-status', String(o.status || ''));
    setAttr(li, 'data-group', statusGroup(o.status));
    setAttr(li, 'data-order-account', accountOf(o) || null);
    setAttr(li, 'data-older', isOlder ? 'true' : null);
    setAttr(li, 'data-linked', o.group ? String(o.group.id) : null);
    setAttr(li, 'data-oversize', oversize ? 'true' : null);
    const linked = groupText(o, size);
    const head = el('div', { class: 'order-head' },
      el('span', { class: 'order-status', 'data-field': 'status' }, String(o.status || '')),
      el('span', { class: 'order-und', 'data-field': 'underlying', title: o.underlying ? String(o.underlying) : null }, underlyingText(o)),
      el('span', { class: 'order-type', 'data-field': 'terms' }, orderTerms(o)),
      linked ? el('span', { class: 'order-link', 'data-field': 'link', title: String(o.group.id) }, linked) : null,
      sim ? el('span', { class: 'badge badge-sim badge-small' }, 'SIM') : null,
      el('time', { class: 'order-time', 'data-field': 'updated_at' }, fmt.time(timeMs(o.updated_at))));
    const acct = el('div', { class: 'order-acct' },
      el('span', { 'data-field': 'broker' }, name.broker), name.broker && name.text ? ' · ' : '',
      el('span', { 'data-field': 'account' }, name.text));
    const legs = el('div', { class: 'legs' });
    for (const leg of o.legs || []) {
      const filled = legFilledText(leg);
      const legEl = el('div', { class: 'leg' },
        el('span', { class: 'leg-desc', title: leg.symbol ? String(leg.symbol) : null }, legText(leg)),
        filled !== null ? el('span', { class: 'leg-filled' }, ` ${filled}`) : null);
      const fills = el('div', { class: 'fills' });
      for (const f of leg.fills || []) {
        fills.append(el('div', { class: 'fill', 'data-fill': String(f.id) },
          fillText(f),
          f.at !== null && f.at !== undefined ? el('time', { class: 'fill-time' }, ` ${fmt.time(timeMs(f.at))}`) : null));
      }
      if (fills.childElementCount) legEl.append(fills);
      legs.append(legEl);
    }
    const actions = statusGroup(o.status) === 'working'
      ? el('div', { class: 'order-actions' },
        el('button', { type: 'button', class: 'btn btn-quiet', 'data-order-cancel': String(o.id), 'aria-label': `Cancel order ${o.id}` }, 'Cancel'),
        el('button', { type: 'button', class: 'btn btn-quiet', 'data-order-replace': String(o.id), 'aria-label': `Replace order ${o.id}…` }, 'Replace…'))
      : null;
    const warn = oversize ? el('p', { class: 'order-oversize', 'data-field': 'oversize' }, oversize) : null;
    li.replaceChildren(head, acct, legs, ...(warn ? [warn] : []), ...(actions ? [actions] : []));
    if (flash) highlight(li, 'rgb(88, 166, 255)', 1200);
  }

  /** Draw the list for `state` (`all`: every entry again, e.g. a new snapshot). */
  function draw(state, { all, flash }) {
    shown = state;
    accountOptions(state);
    if (!els.list) return;
    // orders the state let go of while the trader reads older ones stay listed
    const gone = [];
    for (const [key, d] of drawn) if (!d.older && !state.orders.has(key)) gone.push(d.order);
    older = keepGone(older, gone);
    const rows = panelList(state.orders.values(), older, filter);
    const oversize = oversizedExits(state.orders.values(), state.accounts);
    const nodes = [];
    const keys = new Set();
    for (const row of rows) {
      keys.add(row.key);
      let li = orderEls.get(row.key);
      const fresh = !li;
      if (fresh) orderEls.set(row.key, (li = el('li', { class: 'order', 'data-order': row.key })));
      const name = accountName(row.order, state.accounts, state.links);
      const before = drawn.get(row.key);
      const warn = row.older ? null : oversize.get(row.key) || null;
      if (all || fresh || !before || before.order !== row.order || before.name !== name.text + name.broker || before.older !== row.older || before.member !== !!row.member || before.oversize !== warn || before.size !== row.size) {
        const acct = state.accounts.get(accountOf(row.order));
        const sim = !!(row.order._simulated || (acct && acct.simulated));
        renderOrder(li, row.order, name, row.older, sim, flash && !fresh && before && before.order !== row.order, warn, row.size);
        setAttr(li, 'data-member', row.member ? 'true' : null);
        drawn.set(row.key, { order: row.order, name: name.text + name.broker, older: row.older, member: !!row.member, oversize: warn, size: row.size });
      }
      nodes.push(li);
    }
    for (const key of Array.from(orderEls.keys())) {
      if (!keys.has(key)) { orderEls.delete(key); drawn.delete(key); }
    }
    reconcileChildren(els.list, nodes);
    if (els.empty) {
      els.empty.hidden = rows.length > 0;
      const filtered = filter.account || filter.status !== 'all';
      setText(els.empty, loading ? 'Loading orders…' : filtered ? 'No orders match the filter.' : 'No orders yet.');
    }
    controls();
  }

  /** From page.js: the state drawn before and now; `ctx.all` after a new snapshot. */
  function render(prev, next, ctx) {
    if (ctx.all) exportLinks(); // a redraw: the time zone may have changed
    const accountsMoved = !prev || next.accounts !== prev.accounts || next.links !== prev.links;
    if (!ctx.all && prev && next.orders === prev.orders && !accountsMoved) return;
    draw(next, { all: ctx.all, flash: ctx.flash });
  }

  return { render, loadOlder, filter: () => ({ ...filter }), older: () => older };
}
