/*
 * The /trading page in words (pure: no DOM, no fetch; node --test tests/js/): the
 * trading switch and its countdown, what turning it on asks for, the links and limits,
 * the kill switch's result per broker, and the audit trail's entries
 * (docs/streaming-contract.md "Trading": the `trading`, `result` and `entry` objects).
 */

import { zoned } from '../stream/times.js';

/** The audit actions in words. */
export const ACTION_WORDS = {
  preview: 'Preview',
  confirm: 'Confirm',
  placed: 'Placed',
  rejected: 'Rejected',
  unknown: 'Answer lost',
  reconciled: 'Reconciled',
  cancel: 'Cancel',
  cancel_all: 'Cancel all',
  replace: 'Replace',
  kill_switch: 'Kill switch',
  trading_on: 'Trading on',
  trading_off: 'Trading off',
  refused: 'Refused',
};

const BROKERS = { tastytrade: 'tastytrade', tradier: 'Tradier', alpaca: 'Alpaca' };
const pad = (n) => String(n).padStart(2, '0');

/** What is left of the window: `59:58`, `1:00:00`; `0:00` once over. */
export function countdown(untilMs, nowMs) {
  const left = Math.max(0, Math.ceil((untilMs - nowMs) / 1000));
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** `{on, headline, left}`: the switch as the page says it at `nowMs`, its times in the
 *  trader's zone, named (stream/times.js). */
export function stateWords(trading, nowMs) {
  const on = !!trading.on && trading.until !== null && trading.until > nowMs;
  if (on) {
    return { on, headline: `Trading is on until ${zoned(trading.until, 'time')}.`, left: `${countdown(trading.until, nowMs)} left` };
  }
  if (trading.killed_at) {
    return { on, headline: `Trading is off: the kill switch turned it off on ${zoned(trading.killed_at, 'day')}.`, left: '' };
  }
  return { on, headline: 'Trading is off.', left: '' };
}

/** What turning trading on asks for: the authenticator's code, or the password. */
export function factorField(trading) {
  return trading.second_factor === 'totp'
    ? { name: 'otp', type: 'text', label: 'Code from your authenticator', hint: 'The 6 digits your authenticator app shows now.' }
    : { name: 'password', type: 'password', label: 'Your password', hint: 'No authenticator is set up: your password turns trading on.' };
}

/** `{body}` for POST /api/trading/enable (or /totp) from the field, or `{error}`: a sentence. */
export function factorBody(name, text) {
  const value = String(text ?? '');
  if (name === 'otp') {
    const code = value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) return { error: 'Enter the 6 digits your authenticator shows.' };
    return { body: { otp: code } };
  }
  if (!value) return { error: 'Enter your password.' };
  return { body: { password: value } };
}

const money = (v) => Number(v).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** The limits in one sentence. */
export function limitsWords(limits) {
  const n = limits.max_orders_per_minute;
  return `Your own limits, where staff set none for a link: at most ${money(limits.max_order_notional)} USD per order and ${n} order${n === 1 ? '' : 's'} per minute.`;
}

/** A link's limits, short: `2,500.00 USD per order, 1 order per minute`. */
function linkLimitsWords(limits) {
  const n = limits.max_orders_per_minute;
  return `${money(limits.max_order_notional)} USD per order, ${n} order${n === 1 ? '' : 's'} per minute`;
}

/** A broker link as it is named in sentences: `tastytrade · Main`. */
export const linkTitle = (broker, label) => `${BROKERS[broker] || broker} · ${label}`;

/** The links' rows: title, accounts, and staff's switch in words (read-only here). */
export function linkRows(links) {
  return links.map((l) => ({
    link: l.link,
    title: linkTitle(l.broker, l.label),
    accounts: (l.accounts || []).join(', ') || '—',
    trading: l.enabled ? 'Enabled by staff' : 'Not enabled (staff enable it in the admin)',
    limits: l.limits ? linkLimitsWords(l.limits) : '—',
  }));
}

/** One broker link's kill switch result in words. */
export function resultWords(result) {
  const where = `${linkTitle(result.broker, result.label)}${result.account ? ` ${result.account}` : ''}`;
  if (result.error) return `${where}: ${result.error}`;
  const cancelled = result.cancelled || [];
  const failed = result.failed || [];
  let words = cancelled.length ? `${cancelled.length} order${cancelled.length === 1 ? '' : 's'} cancelled (${cancelled.join(', ')})` : 'no working order';
  if (failed.length) words += `; not cancelled: ${failed.map((f) => `${f.order_id} (${f.error})`).join(', ')}`;
  return `${where}: ${words}`;
}

/** The kill switch's answer: one line per broker link, and whether any failed. */
export function killSwitchWords(answer) {
  const results = answer.results || [];
  const failed = results.some((r) => r.error || (r.failed || []).length);
  const lines = results.length ? results.map(resultWords) : ['No broker is linked: nothing to cancel.'];
  return { failed, headline: failed ? 'Kill switch: trading is off; some orders were not cancelled.' : 'Kill switch: trading is off.', lines };
}

/** A broker's answer without a status or message is cut to this many characters. */
const SAID_LENGTH = 80;

/** What the broker said (`{status, message}` or any object) in a few words. */
export function saidWords(said) {
  if (!said || typeof said !== 'object' || !Object.keys(said).length) return '';
  const status = said.status ? String(said.status) : '';
  const message = said.message || said.error || said.sentence || '';
  if (status || message) return [status, message].filter(Boolean).join(': ');
  const text = JSON.stringify(said);
  return text.length > SAID_LENGTH ? `${text.slice(0, SAID_LENGTH)}…` : text;
}

/** An audit entry as a table row's cells (its time in the trader's zone, named). */
export function entryRow(entry) {
  return {
    id: entry.id,
    at: zoned(entry.at, 'day'),
    action: ACTION_WORDS[entry.action] || entry.action,
    who: entry.user || '',
    where: [entry.link_label || (entry.link ? `link ${entry.link}` : ''), entry.account || ''].filter(Boolean).join(' · '),
    shown: entry.shown || '',
    said: saidWords(entry.said),
    saidFull: entry.said && Object.keys(entry.said).length ? JSON.stringify(entry.said) : '',
    outcome: entry.outcome || '',
    from: [entry.ip || '', entry.session ? `session ${entry.session}` : ''].filter(Boolean).join(' · '),
  };
}

/** The server's sentence for a refused request, or why it could not be asked. */
export function answerError(status, body) {
  if (body && typeof body.error === 'string' && body.error && body.error !== 'token_read_only') return body.error;
  if (status === 403 && body && body.code === 'csrf') return 'The page is out of date: reload it and try again.';
  return `The server answered ${status}.`;
}
