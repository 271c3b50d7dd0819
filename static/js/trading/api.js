/*
 * The trading endpoints from the browser (docs/streaming-contract.md "Trading …",
 * "Endpoints"): JSON with the session cookie and the CSRF header (the browser adds the
 * Origin itself); the confirm carries its Idempotency-Key, and `"second_confirm": true` when
 * the trader confirmed a stop that would trigger at once a second time. Every call answers
 * {ok, status, body, code, error}: `error` is the sentence the ticket shows when not ok.
 */
import { csrfToken } from '../stream/io/csrf.js';
import { refusalText } from './ticket/model.js';

/** api over `doc` (its CSRF cookie) and `fetch` (the page's, or a test's fake). */
export function createTradingApi(doc, fetch) {
  async function call(method, url, body, doing, extra = {}) {
    let r;
    try {
      r = await fetch(url, {
        method,
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken(doc), ...extra },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      return { ok: false, status: 0, body: null, code: 'network', error: refusalText(0, null, doing) };
    }
    let answer = null;
    try { answer = await r.json(); } catch (e) { answer = null; }
    const code = answer && typeof answer.code === 'string' ? answer.code : null;
    return { ok: r.ok, status: r.status, body: answer, code, error: r.ok ? null : refusalText(r.status, answer, doing) };
  }
  return {
    trading: () => call('GET', '/api/trading', undefined, 'trading could not be read'),
    preview: (order) => call('POST', '/api/orders/preview', order, 'the order was not previewed'),
    confirm: (previewId, key, secondConfirm = false) => call(
      'POST', '/api/orders', secondConfirm ? { preview_id: previewId, second_confirm: true } : { preview_id: previewId },
      'the order may not have been sent; send again', { 'Idempotency-Key': key },
    ),
    ticket: (id) => call('GET', `/api/orders/tickets/${encodeURIComponent(id)}`, undefined, 'the ticket could not be read'),
    cancel: (link, orderId) => call('DELETE', `/api/orders/${encodeURIComponent(orderId)}?link=${encodeURIComponent(link)}`, undefined, 'the cancel was not sent'),
    cancelAll: (link, account) => call('POST', '/api/orders/cancel-all', { link, account }, 'the cancels were not sent'),
    killSwitch: () => call('POST', '/api/trading/kill-switch', {}, 'the kill switch was not sent'),
  };
}

/** A cancel-all's or the kill switch's results in words, one line per broker link. */
export function resultLines(results) {
  return (Array.isArray(results) ? results : []).map((r) => {
    const who = [r.broker, r.label, r.account].filter(Boolean).join(' · ');
    const cancelled = Array.isArray(r.cancelled) ? r.cancelled.length : 0;
    const failed = Array.isArray(r.failed) ? r.failed : [];
    const parts = [`${cancelled} order${cancelled === 1 ? '' : 's'} cancelled`];
    for (const f of failed) parts.push(`${f.order_id} not cancelled: ${f.error}`);
    if (r.error) parts.push(r.error);
    return { link: r.link, ok: !r.error && !failed.length, text: `${who}: ${parts.join('; ')}` };
  });
}
