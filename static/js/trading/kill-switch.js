/*
 * The kill switch in every page's header (templates/base.html, logged-in users only):
 * confirm(), then `POST /api/trading/kill-switch` (docs/streaming-contract.md "The kill
 * switch"): every working order at every linked broker cancelled, trading turned off; the
 * result is shown per broker link under the button (#kill-switch-result, one
 * p[data-kill-link] each, data-ok="true|false"). A refusal's sentence is shown there too.
 */
import { createTradingApi, resultLines } from './api.js';

const CONFIRM_TEXT = 'Kill switch: cancel every working order at every linked broker and turn trading off?';

/** Wire `button` ([data-kill-switch]) and `out` (#kill-switch-result). env: {doc, win, fetch}. */
export function wireKillSwitch(button, out, env) {
  const api = createTradingApi(env.doc, env.fetch);
  const line = (text, attrs = {}) => {
    const li = env.doc.createElement('p');
    for (const [k, v] of Object.entries(attrs)) li.setAttribute(k, v);
    li.textContent = text;
    return li;
  };
  button.addEventListener('click', async () => {
    if (!env.win.confirm(CONFIRM_TEXT)) return;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    out.hidden = false;
    out.replaceChildren(line('Cancelling every working order…'));
    const r = await api.killSwitch();
    button.disabled = false;
    button.removeAttribute('aria-busy');
    out.setAttribute('data-state', r.ok ? 'done' : 'error');
    if (!r.ok) { out.replaceChildren(line(r.error, { 'data-ok': 'false' })); return; }
    const lines = resultLines(r.body.results).map((l) => line(l.text, { 'data-kill-link': String(l.link), 'data-ok': String(l.ok) }));
    const off = r.body.trading && r.body.trading.on === false ? 'Trading is off; turning it on again takes your second factor.' : '';
    out.replaceChildren(...lines, ...(lines.length ? [] : [line('No linked broker had working orders.')]), ...(off ? [line(off)] : []));
  });
}

const button = typeof document !== 'undefined' ? document.querySelector('[data-kill-switch]') : null;
const out = button ? document.getElementById('kill-switch-result') : null;
if (button && out) wireKillSwitch(button, out, { doc: document, win: window, fetch: (url, opts) => window.fetch(url, opts) });
