/*
 * The /trading page: the trader's trading switch (on with the second factor, a countdown
 * to its end, off), setting an authenticator up, the links (staff's switch, read-only
 * here) and limits, the kill switch, and the audit trail newest first with "Older…".
 * Everything through the JSON API (docs/streaming-contract.md "Trading"); words come from
 * words.js. DOM built with el(), never innerHTML.
 */
import { el, setText } from '../stream/render/dom.js';
import {
  answerError, entryRow, factorBody, factorField, killSwitchWords, limitsWords, linkRows, stateWords,
} from './words.js';

const AUDIT_PAGE = 50;

/** The CSRF token: the cookie, else the page's hidden input. */
function csrfToken(doc) {
  for (const part of String(doc.cookie || '').split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === 'csrftoken') return decodeURIComponent(rest.join('='));
  }
  const input = doc.querySelector('input[name="csrfmiddlewaretoken"]');
  return input ? input.value : '';
}

/** `{ok, status, body}` of one request; `{ok: false, error}` if the server cannot be reached. */
async function call(doc, url, method = 'GET', body = undefined) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') Object.assign(headers, { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken(doc) });
  let r;
  try {
    r = await fetch(url, { method, credentials: 'same-origin', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    return { ok: false, status: 0, error: 'The server cannot be reached.' };
  }
  let answer = null;
  try { answer = await r.json(); } catch (e) { answer = null; }
  return r.ok ? { ok: true, status: r.status, body: answer } : { ok: false, status: r.status, body: answer, error: answerError(r.status, answer) };
}

export function startTradingPage(doc, root) {
  const urls = root.dataset;
  const q = (sel) => root.querySelector(sel);
  const status = q('[data-trading-state]');
  const left = q('[data-trading-left]');
  const enableForm = q('#trading-enable');
  const factorInput = enableForm.querySelector('[data-factor]');
  const factorLabel = enableForm.querySelector('[data-factor-label]');
  const factorHint = enableForm.querySelector('[data-factor-hint]');
  const offButton = q('[data-trading-off]');
  const message = q('[data-trading-message]');
  const totpForm = q('#totp-start');
  const totpInput = totpForm.querySelector('[data-factor]');
  const totpLabel = totpForm.querySelector('[data-factor-label]');
  const totpShown = q('[data-totp-shown]');
  const confirmForm = q('#totp-confirm');
  const killButton = q('[data-kill-switch]');
  const killResult = q('[data-kill-result]');
  const rows = q('[data-audit-rows]');
  const older = q('[data-audit-older]');
  let trading = null;
  let next = null;

  const say = (text, isError = false) => {
    setText(message, text);
    message.classList.toggle('error', isError);
    message.hidden = !text;
  };

  function drawState() {
    if (!trading) return;
    const words = stateWords(trading, Date.now());
    setText(status, words.headline);
    setText(left, words.left);
    root.dataset.tradingOn = words.on ? 'true' : 'false';
    enableForm.hidden = words.on;
    offButton.hidden = !words.on;
  }

  function drawFactor(input, label, hint) {
    const field = factorField(trading);
    if (input.name !== field.name) { input.value = ''; input.name = field.name; }
    input.type = field.type;
    input.autocomplete = field.name === 'otp' ? 'one-time-code' : 'current-password';
    input.inputMode = field.name === 'otp' ? 'numeric' : 'text';
    setText(label, field.label);
    if (hint) setText(hint, field.hint);
  }

  function adopt(next_) {
    trading = next_;
    drawState();
    drawFactor(factorInput, factorLabel, factorHint);
    drawFactor(totpInput, totpLabel, null);
    setText(q('[data-totp-status]'), trading.second_factor === 'totp'
      ? 'An authenticator is set up: setting up a new one replaces it (enter its current code first).'
      : 'No authenticator is set up: your password turns trading on. Set one up to use its codes instead.');
    setText(q('[data-trading-limits]'), limitsWords(trading.limits));
    const body = q('[data-link-rows]');
    body.replaceChildren(...linkRows(trading.links).map((l) => el('tr', { 'data-link': l.link },
      el('th', { scope: 'row' }, l.title), el('td', null, l.accounts), el('td', null, l.trading), el('td', null, l.limits))));
    if (!trading.links.length) body.append(el('tr', null, el('td', { colspan: 4, class: 'muted' }, 'No broker is linked.')));
  }

  async function loadState() {
    const r = await call(doc, urls.stateUrl);
    if (r.ok) adopt(r.body.trading); else say(r.error, true);
  }

  function drawEntries(entries, append) {
    const made = entries.map((e) => entryRow(e)).map((e) => el('tr', { 'data-entry': e.id },
      el('td', null, e.at), el('td', { 'data-action': '' }, e.action), el('td', null, e.who), el('td', null, e.where),
      el('td', null, e.shown), el('td', { title: e.saidFull }, e.said), el('td', null, e.outcome), el('td', { class: 'muted' }, e.from)));
    if (append) rows.append(...made); else rows.replaceChildren(...made);
    if (!rows.children.length) rows.append(el('tr', null, el('td', { colspan: 8, class: 'muted' }, 'Nothing yet.')));
  }

  async function loadAudit(before) {
    const url = `${urls.auditUrl}?limit=${AUDIT_PAGE}${before ? `&before=${before}` : ''}`;
    const r = await call(doc, url);
    if (!r.ok) { say(r.error, true); return; }
    drawEntries(r.body.entries, !!before);
    next = r.body.next;
    older.hidden = next === null;
  }

  async function submitFactor(input, url, onDone) {
    const made = factorBody(input.name, input.value);
    if (made.error) { say(made.error, true); input.focus(); return; }
    const r = await call(doc, url, 'POST', made.body);
    input.value = '';
    if (r.ok) { say(''); await onDone(r.body); } else say(r.error, true);
    await loadAudit(null);
  }

  enableForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitFactor(factorInput, urls.enableUrl, async (body) => { adopt(body.trading); say('Trading is on.'); });
  });
  offButton.addEventListener('click', async () => {
    const r = await call(doc, urls.disableUrl, 'POST', {});
    if (r.ok) { adopt(r.body.trading); say('Trading is off.'); } else say(r.error, true);
    await loadAudit(null);
  });
  totpForm.addEventListener('submit', (event) => {
    event.preventDefault();
    submitFactor(totpInput, urls.totpUrl, async (body) => {
      const img = q('[data-totp-qr]');
      img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(body.totp.svg)}`;
      setText(q('[data-totp-secret]'), body.totp.secret);
      setText(q('[data-totp-uri]'), body.totp.uri);
      totpShown.hidden = false;
      q('#totp-code').focus();
    });
  });
  confirmForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = q('#totp-code');
    submitFactor(input, urls.totpConfirmUrl, async (body) => {
      totpShown.hidden = true;
      adopt(body.trading);
      say('Your authenticator is set up: its codes now turn trading on.');
    });
  });
  killButton.addEventListener('click', async () => {
    if (!window.confirm('Cancel every working order at every broker and turn trading off?')) return;
    killButton.disabled = true;
    const r = await call(doc, urls.killUrl, 'POST', {});
    killButton.disabled = false;
    if (r.ok) {
      const words = killSwitchWords(r.body);
      killResult.replaceChildren(el('p', { class: words.failed ? 'error' : 'flash' }, words.headline),
        el('ul', null, ...words.lines.map((line) => el('li', null, line))));
      if (r.body.trading) adopt(r.body.trading);
    } else {
      killResult.replaceChildren(el('p', { class: 'error' }, `Kill switch not done: ${r.error}`));
    }
    killResult.hidden = false;
    await loadAudit(null);
  });
  older.addEventListener('click', () => { if (next !== null) loadAudit(next); });

  // the countdown; at the window's end the server says what is true now
  setInterval(() => {
    if (!trading || !trading.on) return;
    drawState();
    if (trading.until <= Date.now()) { trading = { ...trading, on: false }; loadState(); }
  }, 1000);

  loadState();
  loadAudit(null);
}

const page = document.getElementById('trading-page');
if (page) startTradingPage(document, page);
