/*
 * The portfolio limits form (`/settings/limits`, docs/streaming-contract.md "Portfolio
 * limits"): the fields read and checked as the server checks them (pure: `limitsBody`),
 * then saved with one `PUT /api/risk/limits` without a reload; the server's sentence is
 * shown when it refuses. Without this script the form posts to the page itself.
 */
export const LIMITS_URL = '/api/risk/limits';
export const FIELDS = ['beta_delta_min', 'beta_delta_max', 'daily_loss'];
export const MAX_BETA_DELTA = 10000000;
export const MAX_DAILY_LOSS = 1000000000;

/** `{body}` for the API from the fields' texts (empty: null, off), or `{error}`: a sentence. */
export function limitsBody(texts) {
  const body = {};
  for (const name of FIELDS) {
    const text = String(texts[name] ?? '').trim();
    if (text === '') { body[name] = null; continue; }
    const n = Number(text);
    if (!Number.isFinite(n)) return { error: `${name} must be a number (or empty: off), not "${text}"` };
    body[name] = Math.round(n * 100) / 100;
  }
  for (const name of ['beta_delta_min', 'beta_delta_max']) {
    if (body[name] !== null && Math.abs(body[name]) > MAX_BETA_DELTA) return { error: `${name} must be within ±10,000,000 SPY shares` };
  }
  if (body.daily_loss !== null && body.daily_loss <= 0) return { error: 'daily_loss must be a positive number of dollars (or empty: off)' };
  if (body.daily_loss !== null && body.daily_loss > MAX_DAILY_LOSS) return { error: 'daily_loss must be at most 1,000,000,000 dollars' };
  if (body.beta_delta_min !== null && body.beta_delta_max !== null && body.beta_delta_min > body.beta_delta_max) {
    return { error: `beta_delta_min (${body.beta_delta_min}) must not be greater than beta_delta_max (${body.beta_delta_max})` };
  }
  return { body };
}

/** The CSRF token: the cookie, else the form's hidden input. */
export function csrfToken(doc, form) {
  for (const part of String(doc.cookie || '').split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === 'csrftoken') return decodeURIComponent(rest.join('='));
  }
  const input = form.querySelector('input[name="csrfmiddlewaretoken"]');
  return input ? input.value : '';
}

/** `{ok, body | error}` of one PUT: the server's sentence, or why it could not be asked. */
export async function saveLimits(fetch, token, body) {
  let r;
  try {
    r = await fetch(LIMITS_URL, {
      method: 'PUT',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': token },
      body: JSON.stringify(body),
    });
  } catch (e) {
    return { ok: false, error: 'The server cannot be reached: the limits were not saved.' };
  }
  let answer = null;
  try { answer = await r.json(); } catch (e) { answer = null; }
  if (r.ok) return { ok: true, body: answer };
  const said = answer && typeof answer.error === 'string' ? answer.error : `the server answered ${r.status}`;
  return { ok: false, error: `Not saved: ${said}.` };
}

/** Wire the page's form (a no-op outside a browser or without the form). */
export function mount(doc, fetch) {
  const form = doc.getElementById('limits-form');
  if (!form) return;
  const error = doc.getElementById('limits-error');
  const saved = doc.getElementById('limits-saved');
  const say = (el, text) => { el.textContent = text; el.hidden = !text; };
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const texts = Object.fromEntries(FIELDS.map((n) => [n, form.elements[n].value]));
    const checked = limitsBody(texts);
    say(saved, '');
    if (checked.error) { say(error, checked.error); return; }
    const answer = await saveLimits(fetch, csrfToken(doc, form), checked.body);
    if (!answer.ok) { say(error, answer.error); return; }
    say(error, '');
    for (const n of FIELDS) form.elements[n].value = answer.body[n] ?? '';
    say(saved, 'Limits saved.');
  });
}

if (typeof document !== 'undefined') mount(document, (...args) => globalThis.fetch(...args));
