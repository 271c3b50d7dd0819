/*
 * The roll picker's rules, pure (docs/streaming-contract.md "The roll picker"): the target
 * delta the trader types, the URL of `GET /api/roll/candidates`, each candidate row's texts
 * (its POP the /risk table's: static/js/risk/strategy-rows.js) and the sentences of a
 * refusal. The dialog is roll-picker.js; the ticket a row opens is drafts.js `fromRollRow`;
 * whether a strategy's Roll… is offered, offers.js `strategyRollOffer`.
 */
import { num } from '../../stream/contract.js';
import { fmtNumber } from '../../stream/format.js';
import { oddsCells } from '../../stream/odds.js';

export const DEFAULT_DELTA = 0.3;
export const MIN_DELTA = 0.05;
export const MAX_DELTA = 0.95;

/** A choice as a trader reads it. */
export const CHOICE_WORDS = { same: 'Same strikes', delta: 'Target delta', credit: 'Most credit' };

/** The typed target delta (its magnitude: a put's −0.30 is 0.30): {delta} or {error: sentence}. */
export function deltaOf(text) {
  const s = String(text ?? '').trim();
  const range = `from ${MIN_DELTA.toFixed(2)} to ${MAX_DELTA.toFixed(2)}`;
  if (!/^[0-9]*\.?[0-9]+$/.test(s)) return { error: `The target delta must be a number ${range}, e.g. 0.30.` };
  const d = Number(s);
  if (!(d >= MIN_DELTA && d <= MAX_DELTA)) return { error: `The target delta must be ${range}: ${s} is not.` };
  return { delta: d };
}

/** `GET /api/roll/candidates`' URL: an option position (`symbol`) or a strategy (`strategy`,
 *  its key), in `account`, at the target `delta`. */
export function candidatesUrl({ account, symbol = null, strategy = null, delta = DEFAULT_DELTA }) {
  const q = new URLSearchParams({ account: String(account) });
  if (strategy) q.set('strategy', String(strategy));
  else q.set('symbol', String(symbol));
  q.set('delta', String(delta));
  return `/api/roll/candidates?${q}`;
}

/** A net per unit (+ a credit, − a debit) as the picker says it: "1.25 credit", "0.40 debit",
 *  "0.00 even"; "—" unknown. */
export function netText(net) {
  const n = num(net);
  if (n === null) return '—';
  const text = fmtNumber(Math.abs(n), 2);
  if (text === '0.00') return '0.00 even';
  return `${text} ${n > 0 ? 'credit' : 'debit'}`;
}

/** A strike as a trader reads it: 575, 592.5. */
const strikeText = (s) => {
  const n = num(s);
  return n === null ? '?' : String(n);
};
const RIGHT = { call: 'C', put: 'P' };

/** The strikes of the legs a row opens (its `legs` are the order's: the closing ones
 *  first): "575 P / 570 P" (a quantity other than one: "2× 575 P"). */
export function strikesText(legs) {
  return (legs || []).filter((l) => /to Open$/.test(String(l.action))).map((l) => {
    const q = Math.abs(num(l.quantity) ?? 1);
    return `${q !== 1 ? `${q}× ` : ''}${strikeText(l.strike)} ${RIGHT[l.right] || String(l.right || '').toUpperCase()}`;
  }).join(' / ') || '—';
}

/** Days added: "+28 d". */
export const daysText = (d) => (num(d) === null ? '—' : `+${num(d)} d`);

/** The row's words for its button: its visible words first (a voice user says what they
 *  see), then which row it rolls to. */
export const ROLL_BUTTON_TEXT = 'Roll to this';
export const rowLabel = (c) => `${ROLL_BUTTON_TEXT}: ${c.expiration}, ${c.choice}, ${c.strikes}, ${c.net}`;

/** One candidate row's texts: {expiration, choice, strikes, net, stale, stale_title,
 *  breakevens, pop, pop_title, pop_why, days, bp, bp_note}. */
export function rowCells(row) {
  // a row's POP is `pop` (a strategy's is `probability_of_profit`): the same cells
  const odds = oddsCells({ probability_of_profit: row.pop, pop_inputs: row.pop_inputs, pop_note: row.pop_note });
  const bp = num(row.buying_power_effect);
  const cells = {
    expiration: String(row.expiration),
    choice: CHOICE_WORDS[row.choice] || String(row.choice),
    strikes: strikesText(row.legs),
    net: netText(row.net),
    stale: !!row.stale && num(row.net) !== null,
    breakevens: Array.isArray(row.breakevens) && row.breakevens.length ? row.breakevens.map((b) => fmtNumber(num(b))).join(', ') : '—',
    pop: odds.pop,
    pop_title: odds.pop_title,
    pop_why: odds.pop_why,
    days: daysText(row.days_added),
    bp: bp === null ? String(row.buying_power_note || 'Not known.') : fmtNumber(bp, 2, true),
    bp_note: bp === null,
  };
  cells.stale_title = cells.stale ? 'A leg\'s quote is stale: this net may have moved.' : '';
  cells.label = rowLabel(cells);
  return cells;
}

/** The sentence of a failed `GET /api/roll/candidates` (`status` 0: no answer). */
export function failureText(status, body) {
  if (body && typeof body.error === 'string' && body.error) return body.error;
  if (status === 504 || (body && body.code === 'timeout')) return 'The stream did not answer in time: try again.';
  if (status === 0) return 'The server cannot be reached: the roll candidates could not be read.';
  if (status === 403) return 'You are not logged in (or the page is too old): reload it.';
  return `The roll candidates could not be read (HTTP ${status}): try again.`;
}

/** What the picker says over its table: "Loading roll candidates…", a refusal, or "No
 *  later expiration to roll to." (`answer`: null while loading). */
export function statusText(answer, error) {
  if (error) return error;
  if (!answer) return 'Loading roll candidates…';
  return Array.isArray(answer.candidates) && answer.candidates.length ? '' : 'No later expiration to roll to.';
}
