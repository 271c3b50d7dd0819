/*
 * The dashboard rows' menu (positions and watchlist): a row's ⋯ button opens a small menu
 * with "Alert…", which turns into an inline form that creates a price alert for the row's
 * instrument (`POST /api/alerts`, its contract symbol: a coin's `BTC/USD:CXTALP`), "Chart"
 * (the instrument's chart), and the trading items a page adds (`items(button)`: a
 * position's "Trade…" and "Close…", a watchlist row's "Trade…": static/js/trading/). Delegated
 * from the page root, so rows the renderer adds later have it too. The form and its
 * message name the instrument as the row shows it and as the server answers (its display
 * name). A refusal's sentence is shown in the form.
 */
import { alertBody, alertPrice } from '../alerts.js';
import { ALERTS_URL, send } from '../io/alerts.js';
import { el } from './dom.js';
import { ROW_KEYS, menuPlacement, sameRowButton } from '../menu-placement.js';
import { chartUrl } from './sparklines.js';

/** The keys that scroll the page (a trader's scroll: it closes an open menu). */
const SCROLL_KEYS = new Set(['PageUp', 'PageDown', 'Home', 'End', 'ArrowUp', 'ArrowDown', ' ']);

/** A row's ⋯ button (the renderers and the template put one in each symbol cell). */
export function rowMenuButton(sym) {
  return el('button', { type: 'button', class: 'row-menu', 'data-row-menu': sym, 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-label': `Actions for ${sym}`, title: `Actions for ${sym}` }, '⋯');
}

/** root: the dashboard; quote(sym): its last quote; message(text, kind); fetch;
 *  items(button): more items, [{text, attr, run()}] (none without it). */
export function createRowMenu({ doc, root, quote, message, fetch, items = null }) {
  let open = null; // {pop, button}
  const win = doc.defaultView;
  let following = 0; // the frame the open menu is placed again in (0: none asked)

  // the event's path as it was dispatched (the clicked item may be gone from the DOM by now)
  const inside = (ev) => ev.composedPath().includes(open.pop);

  function close() {
    if (!open) return;
    if (following) win.cancelAnimationFrame(following);
    following = 0;
    open.pop.remove();
    open.button.setAttribute('aria-expanded', 'false');
    open = null;
  }

  /** The row a button is in, by its name (ROW_KEYS), or null. */
  function rowOf(button) {
    const tr = button.closest('tr');
    const name = tr && ROW_KEYS.find((key) => tr.hasAttribute(key));
    return name ? { name, value: tr.getAttribute(name) } : null;
  }

  /** The open menu's button: its own, or, once a live update has replaced its row, the
   *  new row's of the same name (the menu stays open on the row the trader chose). */
  function anchor() {
    if (open.button.isConnected) return open.button;
    const selector = sameRowButton(open.row);
    const fresh = selector && root.querySelector(selector);
    if (fresh) {
      fresh.setAttribute('aria-expanded', 'true');
      open.button = fresh;
    }
    return open.button;
  }

  /** The open menu by its button (menuPlacement); false when the button is gone or off
   *  the screen, where the menu could not follow it. */
  function place() {
    const { pop } = open;
    const button = anchor();
    const at = button.getBoundingClientRect();
    const viewport = { width: doc.documentElement.clientWidth, height: doc.documentElement.clientHeight };
    if (!button.isConnected || at.bottom < 0 || at.top > viewport.height) return false;
    const spot = menuPlacement(at, pop.getBoundingClientRect(), viewport);
    const left = `${spot.left}px`, top = `${spot.top}px`;
    if (pop.style.left !== left) pop.style.left = left; // written only when it moved
    if (pop.style.top !== top) pop.style.top = top;
    return true;
  }

  /** While open, the menu is placed by its button every frame: rows above it change
   *  height, come in or are replaced by live updates without the page scrolling (a menu
   *  placed only when opened and on a scroll sat 22 px off its button). One rectangle
   *  read a frame, and only while a menu is open. */
  function follow() {
    following = 0;
    if (!open) return;
    if (!place()) { close(); return; }
    following = win.requestAnimationFrame(follow);
  }

  /** The instrument's name as its row shows it (its symbol cell), else its symbol. */
  function shownName(button, sym) {
    const cell = button.closest('[data-field="symbol"]');
    const shown = cell && cell.querySelector('.sym');
    const text = shown ? shown.textContent.trim() : '';
    return text || sym;
  }

  function showMenu(button) {
    const sym = button.getAttribute('data-row-menu');
    const item = el('button', { type: 'button', role: 'menuitem', class: 'row-menu-item', 'data-menu-alert': sym }, 'Alert…');
    const chart = el('a', { role: 'menuitem', class: 'row-menu-item', href: chartUrl(sym), 'data-menu-chart': sym }, 'Chart');
    const more = (items ? items(button) : []).map((m) => {
      const b = el('button', { type: 'button', role: 'menuitem', class: 'row-menu-item', [m.attr]: sym }, m.text);
      b.addEventListener('click', () => { close(); m.run(); });
      return b;
    });
    const pop = el('div', { class: 'row-menu-pop', role: 'menu', 'aria-label': `Actions for ${sym}` }, item, chart, ...more);
    // in the body, placed by the button: a table cell (sticky, in a scrolling wrapper)
    // would clip it or paint the next rows over it
    doc.body.append(pop);
    open = { pop, button, row: rowOf(button) };
    place();
    following = win.requestAnimationFrame(follow);
    button.setAttribute('aria-expanded', 'true');
    item.addEventListener('click', () => showForm(sym, shownName(button, sym)));
    item.focus();
  }

  function showForm(sym, name) {
    const price = alertPrice(quote(sym));
    const level = el('input', { name: 'level', type: 'text', inputmode: 'decimal', size: '9', 'aria-label': 'Level', value: price === null ? '' : price.toFixed(2) });
    const condition = el('select', { name: 'condition', 'aria-label': 'Condition' },
      el('option', { value: 'above' }, 'above'), el('option', { value: 'below' }, 'below'),
      el('option', { value: 'move_up' }, 'up % from prev. close'), el('option', { value: 'move_down' }, 'down % from prev. close'));
    const rearm = el('input', { name: 'rearm', type: 'checkbox' });
    const error = el('p', { class: 'form-error', role: 'alert', 'data-alert-error': '' });
    const form = el('form', { class: 'row-alert-form', 'data-row-alert-form': sym, 'aria-label': `New alert for ${name}` },
      el('strong', null, `Alert ${name}`), condition, level,
      el('label', null, rearm, ' re-arm'),
      el('button', { type: 'submit', class: 'btn btn-primary' }, 'Create'),
      el('button', { type: 'button', class: 'btn', 'data-cancel': '' }, 'Cancel'), error);
    open.pop.replaceChildren(form);
    level.focus();
    form.querySelector('[data-cancel]').addEventListener('click', close);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const made = alertBody({ symbol: sym, condition: condition.value, level: level.value, rearm: rearm.checked });
      if (made.error) { error.textContent = made.error; return; }
      form.setAttribute('aria-busy', 'true');
      const r = await send(doc, fetch, 'POST', ALERTS_URL, made.body);
      form.removeAttribute('aria-busy');
      if (!r.ok) { error.textContent = r.error; return; }
      close();
      const said = (r.body && r.body.display) || name;
      message(`Alert created: ${said} ${condition.options[condition.selectedIndex].text} ${made.body.level}.`, 'info');
    });
  }

  root.addEventListener('click', (ev) => {
    const button = ev.target.closest && ev.target.closest('[data-row-menu]');
    if (button) {
      const same = open && anchor() === button;
      close();
      if (!same) showMenu(button);
      return;
    }
    if (open && !inside(ev)) close();
  });
  doc.addEventListener('click', (ev) => { if (open && !inside(ev) && !root.contains(ev.target)) close(); });
  doc.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') close(); });
  // The trader scrolling (wheel, touch, scroll keys) closes the menu. A scroll the page
  // makes itself (the browser anchoring rows a link delivers later, a row's height
  // changing above) moves it with its button, under the pointer (the new row's, once a
  // live update has replaced the row); it closes only when the row is gone or off the screen.
  window.addEventListener('wheel', close, { passive: true });
  window.addEventListener('touchmove', close, { passive: true });
  doc.addEventListener('keydown', (ev) => { if (open && SCROLL_KEYS.has(ev.key) && !inside(ev)) close(); });
  window.addEventListener('scroll', () => { if (open && !place()) close(); }, { passive: true });
  return { close };
}
