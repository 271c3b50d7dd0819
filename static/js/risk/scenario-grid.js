/*
 * The /risk page's scenario grid card (#risk-scenarios): asks `GET /api/risk/<U>/scenarios`
 * for the what-if graph's underlying at its date slider's date, for the whole underlying or
 * the strategy chosen in its select (filled from `GET /api/risk/strategies?underlying=`,
 * and refilled from the strategies list's every new answer: `refill`, after a fill),
 * and draws the table scenarios.js words. "Loading…" while asked, the refusal's sentence on
 * an error; an older answer (another date, underlying or strategy) is dropped.
 *
 * For tests: the card's data-state (loading | live | error | none) and data-fetches.
 */
import { PORTFOLIO } from './graph.js';
import { refilledSelect, scenarioCells, scenarioUrl } from './scenarios.js';

/** Date-slider drags ask at most this often (ms). */
const SETTLE_MS = 250;

/** env: {fetch, setTimeout, clearTimeout} */
export function createScenarioGrid(doc, card, env) {
  const base = card.getAttribute('data-api') || '/api/risk/';
  const select = card.querySelector('[data-scenario-strategy]');
  const statusEl = card.querySelector('[data-scenario-status]');
  const head = card.querySelector('[data-scenario-head]');
  const body = card.querySelector('[data-scenario-rows]');
  const view = { underlying: null, date: null, strategiesOf: null, seq: 0, fetches: 0, timer: null, note: '' };

  const status = (state, text) => {
    card.setAttribute('data-state', state);
    statusEl.textContent = text;
  };

  async function getJson(url) {
    const r = await env.fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    let answer = null;
    try { answer = await r.json(); } catch (e) { answer = null; }
    if (!r.ok) throw new Error((answer && answer.error) || `HTTP ${r.status}`);
    return answer;
  }

  function cell(tag, text, attrs = {}) {
    const el = doc.createElement(tag);
    el.textContent = text;
    for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, v);
    return el;
  }

  function draw(answer) {
    const { columns, rows } = scenarioCells(answer);
    head.replaceChildren(cell('th', 'IV shift / move', { scope: 'col' }),
      ...columns.map((c) => cell('th', c.text, { scope: 'col', class: 'num', 'data-move': String(c.move) })));
    body.replaceChildren(...rows.map((r) => {
      const tr = doc.createElement('tr');
      tr.setAttribute('data-iv-shift', String(r.shift));
      tr.append(cell('th', r.text, { scope: 'row' }), ...r.cells.map((c) => {
        const td = cell('td', c.text, {
          class: `num ${c.sign === 'zero' ? '' : c.sign}${c.now ? ' is-now' : ''}`.trim(),
          title: c.title, 'data-pnl': c.pnl === null ? '' : String(c.pnl), 'data-now': c.now ? 'true' : null,
        });
        if (c.now) td.append(cell('span', ' now', { class: 'muted' }));
        return td;
      }));
      return tr;
    }));
  }

  /** The select's options from `strategies`; true when they changed. The chosen one is kept
   *  while offered, else the whole underlying (view.note says so until the next choice). */
  function fillStrategies(strategies) {
    const chosen = select.selectedOptions && select.selectedOptions[0];
    const { options, value, note } = refilledSelect(strategies, view.underlying,
      { value: select.value, label: chosen ? chosen.textContent : select.value });
    const offered = Array.from(select.options, (o) => o.value).join(',');
    if (offered === options.map((o) => o.value).join(',')) return false;
    select.replaceChildren(...options.map((o) => cell('option', o.label, { value: o.value })));
    select.value = value;
    if (note) view.note = note;
    return true;
  }

  async function ask() {
    const mine = ++view.seq;
    if (!view.underlying || view.underlying === PORTFOLIO) {
      head.replaceChildren();
      body.replaceChildren();
      status('none', 'Choose an underlying in the what-if graph to see its scenarios.');
      return;
    }
    status('loading', 'Loading…');
    view.fetches += 1;
    card.setAttribute('data-fetches', String(view.fetches));
    try {
      if (view.strategiesOf !== view.underlying) {
        const found = await getJson(`${base}strategies?underlying=${encodeURIComponent(view.underlying)}`);
        if (mine !== view.seq) return;
        view.strategiesOf = view.underlying;
        fillStrategies(found && found.strategies);
        view.note = ''; // another underlying: its strategies are new, none was dropped
      }
      const answer = await getJson(scenarioUrl(base, view.underlying, { date: view.date, strategy: select.value }));
      if (mine !== view.seq) return;
      draw(answer);
      const left = Array.isArray(answer.unpriced) && answer.unpriced.length ? ` Not priced (no IV or price): ${answer.unpriced.join(', ')}.` : '';
      status('live', `${view.note ? `${view.note} ` : ''}At ${answer.date}, from a price of ${answer.price.toFixed(2)}.${left}`);
    } catch (e) {
      if (mine !== view.seq) return;
      status('error', `The scenarios could not be computed: ${e.message}`);
    }
  }

  /** The graph's underlying and date (null: now; 'expiration'; YYYY-MM-DD) changed. */
  function update(underlying, date) {
    if (underlying === view.underlying && date === view.date) return;
    const sameUnderlying = underlying === view.underlying;
    if (!sameUnderlying) view.note = '';
    view.underlying = underlying;
    view.date = date;
    if (view.timer !== null) env.clearTimeout(view.timer);
    view.timer = null;
    if (sameUnderlying) view.timer = env.setTimeout(() => { view.timer = null; ask(); }, SETTLE_MS);
    else ask();
  }

  /** The strategies changed (the list asked again after a fill): the select follows, and
   *  the grid is asked again when its options changed (a strategy's key names its sizes). */
  function refill(strategies) {
    if (!view.underlying || view.underlying === PORTFOLIO || view.strategiesOf !== view.underlying) return;
    if (fillStrategies(strategies)) ask();
  }

  select.addEventListener('change', () => { view.note = ''; ask(); });
  return { update, refill, fetches: () => view.fetches };
}
