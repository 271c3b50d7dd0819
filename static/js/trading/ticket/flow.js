/*
 * One ticket's steps, without the DOM (docs/streaming-contract.md "Trading …"): edit →
 * Preview (POST /api/orders/preview) → Confirm (POST /api/orders with the preview's one
 * Idempotency-Key) → the ticket, and the order it placed followed on the stream. Confirm
 * sends at most one request at a time (a double click is one request); a lost answer may be
 * sent again with the same key (the server answers the same ticket, never a second order);
 * a ticket left `placing`/`unknown` is read again (GET) until it says. A preview whose stop
 * would trigger at once (`second_confirm`) takes two Confirms: the first only arms it, the
 * second sends `"second_confirm": true`. Every refusal is a sentence in `error`, with what
 * the trader can do next (`repreview`, `tradingPage`).
 *
 * phase: editing | previewing | previewed | confirming | sent.
 */
import { REPREVIEW_CODES, TRADING_PAGE_CODES, createConfirmKeys, needsSecondConfirm, secondsLeft } from './model.js';

/** How often, and how many times, a `placing`/`unknown` ticket is read again. */
export const CHECK_EVERY_MS = 1000;
export const CHECKS = 15;
const OPEN_TICKET = new Set(['placing', 'unknown']);

/** env: {api (../api.js), randomUUID, now (server ms), setTimeout, clearTimeout};
 *  changed(): the view should draw again. */
export function createTicketFlow(env, changed) {
  const keys = createConfirmKeys(env.randomUUID);
  const s = { phase: 'editing', preview: null, armed: false, ticket: null, error: null, body: null, sent: new Set(), checks: 0, requests: 0 };
  let timer = null;
  let closed = false;

  const refusal = (r) => ({
    text: r.error, code: r.code, status: r.status,
    repreview: REPREVIEW_CODES.has(r.code), tradingPage: TRADING_PAGE_CODES.has(r.code),
    resend: r.status === 0 || r.status === 504 || r.code === 'timeout',
  });
  const set = (patch) => {
    Object.assign(s, patch);
    if (!closed) changed();
  };

  function stopChecks() {
    if (timer !== null) env.clearTimeout(timer);
    timer = null;
  }

  function adoptTicket(ticket) {
    set({ phase: 'sent', ticket, error: null });
    stopChecks();
    if (OPEN_TICKET.has(ticket.state) && s.checks < CHECKS && !closed) {
      timer = env.setTimeout(() => { timer = null; return check(); }, CHECK_EVERY_MS);
    }
  }

  async function check() {
    if (!s.ticket || closed) return;
    s.checks += 1;
    s.requests += 1;
    const r = await env.api.ticket(s.ticket.id);
    if (closed) return;
    if (r.ok && r.body && r.body.ticket) adoptTicket(r.body.ticket);
    else set({ error: refusal(r) });
  }

  async function preview(body) {
    if (s.phase === 'previewing' || s.phase === 'confirming' || s.phase === 'sent') return;
    set({ phase: 'previewing', preview: null, armed: false, error: null, body });
    s.requests += 1;
    const r = await env.api.preview(body);
    if (closed) return;
    if (r.ok && r.body && r.body.preview) set({ phase: 'previewed', preview: r.body.preview });
    else set({ phase: 'editing', error: refusal(r) });
  }

  async function confirm() {
    if (s.phase !== 'previewed' || !s.preview) return; // confirming already: one request
    const id = s.preview.id;
    // a resend (the answer was lost) goes even when the preview is old: the key answers it
    if (!s.sent.has(id) && secondsLeft(s.preview.expires_at, env.now()) <= 0) {
      set({ phase: 'editing', error: { text: 'The preview expired: preview again.', code: 'preview_expired', repreview: true, tradingPage: false, resend: false } });
      return;
    }
    // a stop that would trigger at once: the first Confirm only arms the second
    if (needsSecondConfirm(s.preview) && !s.armed) { set({ armed: true }); return; }
    set({ phase: 'confirming', error: null });
    s.sent.add(id);
    s.requests += 1;
    const r = await env.api.confirm(id, keys.keyFor(id), s.armed);
    if (closed) return;
    const ticket = r.body && r.body.ticket;
    if ((r.ok || r.code === 'already_confirmed') && ticket) { adoptTicket(ticket); return; }
    const error = refusal(r);
    // the server asks for the second confirm (nothing was sent, the key is unused): armed
    if (r.code === 'second_confirm') { set({ phase: 'previewed', armed: true, error }); return; }
    // a lost answer: Confirm again sends the same key; a refusal: the preview is done with
    set(error.resend ? { phase: 'previewed', error } : { phase: 'editing', preview: null, error });
  }

  return {
    /** The form changed: a preview no longer says what would be sent. */
    edited() {
      if (s.phase === 'previewed' || (s.phase === 'editing' && s.error)) set({ phase: 'editing', preview: null, armed: false, error: null });
    },
    preview,
    /** Preview the last order again (after `preview_expired` / `quote_moved`). */
    repreview: () => (s.body ? preview(s.body) : undefined),
    confirm,
    check,
    close() { closed = true; stopChecks(); },
    /** What the view draws: {phase, preview, armed (the next Confirm is the second, "Confirm
     *  anyway"), ticket, error, secondsLeft, confirmKey}. */
    view: () => ({
      phase: s.phase, preview: s.preview, armed: s.armed, ticket: s.ticket, error: s.error, requests: s.requests,
      secondsLeft: s.preview ? secondsLeft(s.preview.expires_at, env.now()) : null,
      confirmKey: s.preview ? keys.keyFor(s.preview.id) : null,
    }),
  };
}
