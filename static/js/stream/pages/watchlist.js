/*
 * The watchlist editor: the form adds a symbol, a row's × removes one. The watchlist is the
 * user's, not the tab's (contract "Client messages"): an edit is a CSRF-protected
 * `POST /watchlist` ({"add": [...]} or {"remove": [...]}); every tab of the user, this one
 * included, gets the new list as a `watchlist` frame. The answer carries it too, so this
 * tab shows it at once. The form has one message line (`[data-form-error]`): each message
 * replaces the last, and the next edit or keystroke clears it.
 */
import { normalizeSymbol } from '../contract.js';

/**
 * form: #watchlist-form; rows: #watchlist-rows (its [data-remove] buttons); url: the POST
 * target; symbols(): the list shown now; adopt(answer): take the server's list;
 * message(text, kind): tell the trader (where the form has no message line).
 */
export function createWatchlistEditor({ doc, form, rows, url, symbols, adopt, message }) {
  let saving = 0;
  const line = form && form.querySelector('[data-form-error]');

  /** The form's one current message (replacing the last), else a page message. */
  function say(text, kind) {
    if (!line) { message(text, kind); return; }
    line.textContent = text;
    line.setAttribute('data-kind', kind || 'error');
  }
  function clear() {
    if (line && line.textContent) line.textContent = '';
  }

  function csrfToken() {
    for (const part of doc.cookie.split(';')) {
      const [k, ...rest] = part.trim().split('=');
      if (k === 'csrftoken') return decodeURIComponent(rest.join('='));
    }
    const input = form && form.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : '';
  }

  async function edit(change) {
    clear();
    saving++;
    if (form) form.setAttribute('aria-busy', 'true');
    try {
      let r;
      try {
        r = await fetch(url, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken() },
          body: JSON.stringify(change),
        });
      } catch (e) {
        say('Watchlist not saved: the server cannot be reached.');
        return false;
      }
      let body = null;
      try { body = await r.json(); } catch (e) { body = null; }
      if (!r.ok) {
        const why = body && body.error ? (typeof body.error === 'string' ? body.error : JSON.stringify(body.error)) : `HTTP ${r.status}`;
        say(`Watchlist not saved: ${why}`);
        return false;
      }
      if (body && Array.isArray(body.symbols)) adopt(body);
      return true;
    } finally {
      saving--;
      if (form && !saving) form.removeAttribute('aria-busy');
    }
  }

  if (form) {
    form.addEventListener('input', clear);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clear();
      const input = form.querySelector('input[name="symbol"]');
      const raw = input ? input.value : '';
      if (!raw.trim()) return;
      const sym = normalizeSymbol(raw);
      if (!sym) {
        say(`"${raw.trim().slice(0, 40)}" is not a valid symbol (examples: AAPL, BRK/B, /ESZ26, .SPY250221C590).`);
        return;
      }
      if (symbols().includes(sym)) {
        say(`${sym} is already on the watchlist.`, 'info');
        if (input) input.value = '';
        return;
      }
      const ok = await edit({ add: [sym] });
      if (ok && input && normalizeSymbol(input.value) === sym) input.value = '';
    });
  }

  if (rows) {
    rows.addEventListener('click', (ev) => {
      const btn = ev.target instanceof Element ? ev.target.closest('[data-remove]') : null;
      if (btn) edit({ remove: [btn.getAttribute('data-remove')] });
    });
  }

  return { edit };
}
