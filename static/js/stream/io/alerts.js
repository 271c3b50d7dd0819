/*
 * The alerts API from the browser (`/api/alerts`, docs/streaming-contract.md "Price
 * alerts"): one `send` with the session cookie and the CSRF header; an error answer's
 * sentence is what the page shows.
 */
import { errorSentence } from '../alerts.js';
import { csrfToken } from './csrf.js';

export const ALERTS_URL = '/api/alerts';

/** {ok, status, body, error}: `error` is a sentence when not ok. */
export async function send(doc, fetch, method, url, body) {
  let r;
  try {
    r = await fetch(url, {
      method,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken(doc) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { ok: false, status: 0, body: null, error: 'The server cannot be reached: the alert was not saved.' };
  }
  let answer = null;
  if (r.status !== 204) {
    try { answer = await r.json(); } catch (e) { answer = null; }
  }
  return { ok: r.ok, status: r.status, body: answer, error: r.ok ? null : errorSentence(r.status, answer) };
}
