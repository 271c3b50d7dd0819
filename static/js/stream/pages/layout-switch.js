/*
 * The page's layout switches (DOM; the choices themselves are layout-choice.js): the phone
 * dashboard's positions / watchlist / orders switcher, its prices / greeks toggle, and the
 * option chain's calls / puts and prices / greeks. The server renders every control and
 * the page root's `data-<choice>` attribute from the cookies (nothing moves when this
 * script starts); a press sets the attribute (CSS shows and hides what it names), updates
 * the buttons' `aria-pressed` and keeps the choice in its cookie. Loaded by the pages that
 * have switches, apart from main.js: the stream does not depend on it.
 *
 * Markup: a segmented control `[data-switch=<choice>]` holding `button[data-value]`, or a
 * toggle `button[data-switch=<choice>][data-on=<value>]`; the root is the closest ancestor
 * carrying `data-<choice>`.
 */
import { choiceCookie, choose, pressedStates, toggled } from '../layout-choice.js';

function buttonsOf(control) {
  return control.matches('button') ? [control] : Array.from(control.querySelectorAll('button[data-value]'));
}

function draw(doc, key, value) {
  for (const control of doc.querySelectorAll(`[data-switch="${key}"]`)) {
    const buttons = buttonsOf(control);
    const on = control.matches('button') ? control.getAttribute('data-on') : null;
    for (const { index, pressed } of pressedStates(buttons.map((b) => b.getAttribute('data-value')), value, on)) {
      buttons[index].setAttribute('aria-pressed', pressed ? 'true' : 'false');
    }
  }
}

/** Keep a switcher that scrolled up under the sticky status bar in view after a switch. */
function keepInView(doc, win, control) {
  const bar = doc.getElementById('status-bar');
  const barBottom = bar ? bar.getBoundingClientRect().bottom : 0;
  const top = control.getBoundingClientRect().top;
  if (top < barBottom) win.scrollBy(0, top - barBottom - 4);
}

/** Wire every switch of `doc`; returns {set(key, value)} for tests and tools. */
export function wireSwitches(doc, win) {
  function set(key, value, control) {
    const attr = `data-${key}`;
    const root = control ? control.closest(`[${attr}]`) : doc.querySelector(`[${attr}]`);
    const next = choose(key, value);
    if (!root || next === null) return;
    root.setAttribute(attr, next);
    draw(doc, key, next);
    doc.cookie = choiceCookie(key, next, win.location.protocol === 'https:');
    if (control && key === 'view') keepInView(doc, win, control);
  }

  doc.addEventListener('click', (ev) => {
    const button = ev.target instanceof Element ? ev.target.closest('button') : null;
    const control = button && button.closest('[data-switch]');
    if (!control) return;
    const key = control.getAttribute('data-switch');
    if (control === button) {
      const root = control.closest(`[data-${key}]`);
      set(key, toggled(key, root ? root.getAttribute(`data-${key}`) : null), control);
    } else if (button.hasAttribute('data-value')) {
      set(key, button.getAttribute('data-value'), control);
    }
  });
  return { set };
}

if (typeof document !== 'undefined') wireSwitches(document, window);
