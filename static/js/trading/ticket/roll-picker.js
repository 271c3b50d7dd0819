/*
 * The roll picker on the page (docs/streaming-contract.md "The roll picker"): a modal
 * <dialog> (Escape closes, focus returns to the opener; its fields labelled) that asks
 * `GET /api/roll/candidates` for a position or a strategy at a target delta, lists the rows
 * (roll.js `rowCells`), and opens ONE ticket from the row chosen (drafts.js `fromRollRow`).
 * DOM only; never innerHTML. What the browser tests read (tests/browser/README.md):
 *   #roll-picker[data-state]   loading | ready | error
 *   [data-roll-delta] the target delta; [data-roll-status] Loading… or why there is nothing;
 *   [data-roll-error] a refusal; tbody tr[data-roll-row][data-expiration][data-choice]
 *   td[data-field=expiration|choice|strikes|net|breakevens|pop|days|bp] (net: data-stale);
 *   [data-roll-choose] each row's button; [data-roll-notes] li the answer's notes;
 *   [data-roll-close].
 */
import { el, setAttr, setText } from '../../stream/render/dom.js';
import { DEFAULT_DELTA, ROLL_BUTTON_TEXT, candidatesUrl, deltaOf, failureText, rowCells, statusText } from './roll.js';
import { fromRollRow } from './drafts.js';
import { dismissModal } from './modal.js';

const COLUMNS = [
  ['expiration', 'Expiration'], ['choice', 'Choice'], ['strikes', 'Strikes'], ['net', 'Net at mid'],
  ['breakevens', 'Break-evens'], ['pop', 'POP'], ['days', 'Days added'], ['bp', 'Buying power'],
];
const NUMERIC = new Set(['net', 'breakevens', 'pop', 'days']);

/** One candidate's row: its cells, and its button that opens the ticket. */
function rowNode(row, choose) {
  const c = rowCells(row);
  const td = (field, attrs, ...children) => el('td', { 'data-field': field, ...attrs }, ...children);
  const cells = COLUMNS.map(([field]) => {
    if (field === 'net') {
      return td('net', { class: `num${c.stale ? ' is-stale' : ''}`, 'data-stale': c.stale ? 'true' : null, title: c.stale_title || null },
        c.net, c.stale ? el('span', { class: 'sr-only' }, ' (stale)') : null);
    }
    if (field === 'pop') {
      return td('pop', { class: 'num', title: c.pop_title || null }, c.pop, c.pop_why ? el('span', { class: 'sr-only' }, ` ${c.pop_why}`) : null);
    }
    if (field === 'bp') return td('bp', { class: c.bp_note ? 'roll-note muted' : 'num' }, c.bp);
    return td(field, NUMERIC.has(field) ? { class: 'num' } : null, c[field]);
  });
  const button = el('button', { type: 'button', class: 'btn', 'data-roll-choose': '', 'aria-label': c.label }, ROLL_BUTTON_TEXT);
  button.addEventListener('click', () => choose(row));
  return el('tr', { 'data-roll-row': '', 'data-expiration': c.expiration, 'data-choice': row.choice }, ...cells, el('td', null, button));
}

/** env: {doc, fetch, openTicket(draft)}. Opens one picker at a time. */
export function createRollPicker(env) {
  const { doc } = env;
  let open = null;

  /** `what`: {account, symbol} (an option position) or {account, strategy} (its key), and
   *  `title` (the position or the strategy as a trader reads it). */
  function openPicker(what) {
    if (open) open.close();
    const opener = doc.activeElement;
    let asked = 0;
    let answer = null;
    let error = null;
    let closed = false;

    const delta = el('input', {
      name: 'delta', type: 'text', inputmode: 'decimal', size: '5', value: DEFAULT_DELTA.toFixed(2),
      'data-roll-delta': '', 'aria-describedby': 'roll-picker-delta-help',
    });
    const status = el('p', { class: 'muted', role: 'status', 'aria-live': 'polite', 'data-roll-status': '' });
    const errorLine = el('p', { class: 'form-error', role: 'alert', 'data-roll-error': '', hidden: true });
    const body = el('tbody');
    const table = el('table', { class: 'roll-table', 'data-roll-table': '' },
      el('caption', { class: 'sr-only' }, 'Where the position could be rolled: one row per expiration and choice'),
      el('thead', null, el('tr', null, ...COLUMNS.map(([field, label]) => el('th', { scope: 'col', class: NUMERIC.has(field) ? 'num' : null }, label)),
        el('th', { scope: 'col' }, el('span', { class: 'sr-only' }, 'Choose')))),
      body);
    const wrap = el('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Roll candidates', hidden: true }, table);
    const notes = el('ul', { class: 'ticket-warnings', 'data-roll-notes': '' });
    const closeBtn = el('button', { type: 'button', class: 'btn', 'data-roll-close': '' }, 'Close');
    const form = el('form', { method: 'dialog', class: 'ticket-form', novalidate: true },
      el('h2', { id: 'roll-picker-title' }, `Roll ${what.title}`),
      el('label', { class: 'ticket-field' }, 'Target delta ', delta),
      el('span', { id: 'roll-picker-delta-help', class: 'muted' }, '0.05 to 0.95 (a put\'s −0.30 is 0.30)'),
      status, errorLine, wrap, notes, el('div', { class: 'ticket-buttons' }, closeBtn));
    const dialog = el('dialog', { id: 'roll-picker', class: 'trade-ticket roll-picker', 'aria-labelledby': 'roll-picker-title' }, form);

    function choose(row) {
      const draft = fromRollRow(answer, row, what.title);
      closePicker();
      env.openTicket(draft);
    }

    function draw() {
      setAttr(dialog, 'data-state', error ? 'error' : answer ? 'ready' : 'loading');
      errorLine.hidden = !error;
      setText(errorLine, error || '');
      const said = error ? '' : statusText(answer, null);
      setText(status, said);
      status.hidden = !said;
      const rows = answer && !error && Array.isArray(answer.candidates) ? answer.candidates : [];
      wrap.hidden = !rows.length;
      body.replaceChildren(...rows.map((r) => rowNode(r, choose)));
      const noted = answer && !error && Array.isArray(answer.notes) ? answer.notes : [];
      notes.replaceChildren(...noted.map((n) => el('li', null, String(n))));
    }

    /** Ask for the rows at the delta typed (a bad one: its sentence, no request), unless
     *  they were asked at that delta already (Enter fires the field's change and the form's
     *  submit; a refusal may be asked again). The newest request wins: an older answer that
     *  comes later is dropped. */
    let askedText = null;
    async function load() {
      if (delta.value === askedText && !error) return;
      askedText = delta.value;
      const d = deltaOf(delta.value);
      if (d.error) { error = d.error; answer = null; draw(); return; }
      const seq = ++asked;
      error = null;
      answer = null;
      draw();
      let got;
      let failed = null;
      try {
        const r = await env.fetch(candidatesUrl({ account: what.account, symbol: what.symbol, strategy: what.strategy, delta: d.delta }),
          { credentials: 'same-origin', headers: { Accept: 'application/json' } });
        const parsed = await r.json().catch(() => null);
        if (r.ok && parsed) got = parsed;
        else failed = failureText(r.status, parsed);
      } catch {
        failed = failureText(0, null);
      }
      if (closed || seq !== asked) return;
      answer = got || null;
      error = failed;
      draw();
    }

    function closePicker() {
      if (closed) return;
      closed = true;
      if (open && open.dialog === dialog) open = null;
      dismissModal(doc, dialog, opener);
    }

    delta.addEventListener('change', load);
    // Enter in the field asks again (and never submits the dialog's form, which would close it)
    form.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
    closeBtn.addEventListener('click', closePicker);
    dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); closePicker(); });
    dialog.addEventListener('close', closePicker);

    doc.body.append(dialog);
    dialog.showModal();
    open = { dialog, close: closePicker };
    load();
    return dialog;
  }

  return { open: openPicker, close() { if (open) open.close(); } };
}
