/*
 * The dashboard's POP column: each option position's probability of profit, the strategy
 * it is part of as `GET /api/risk/strategies` answers it (stream/odds.js `positionPops`, the
 * /risk page's texts). The server renders the cells at load (streaming/pages/dashboard.py);
 * the list is asked again when the stream's positions change (symbol, quantity, side, cost)
 * at most once per 2 s, and otherwise every 30 s (the price and the clock move the odds):
 * one request for every position, never two at once, none while the page is hidden.
 */
import { positionPops, positionsKey } from '../odds.js';

/** The least gap between two asks after a change of the positions, ms. */
export const CHANGE_GAP_MS = 2000;
/** Without a change, the odds are asked again this often, ms. */
export const REFRESH_EVERY_MS = 30_000;

/**
 * When to ask (pure): `due(now)` says whether to ask now; `changed()` after a change of the
 * positions; `asked(now)` when a request starts, `answered()` when it ends. The page's own
 * cells count as an answer at `start` (the server rendered them).
 */
export function oddsSchedule(start) {
  let last = start;
  let wanted = false;
  let inFlight = false;
  return {
    changed() { wanted = true; },
    due(now, hidden) {
      if (hidden || inFlight) return false;
      return now - last >= (wanted ? CHANGE_GAP_MS : REFRESH_EVERY_MS);
    },
    asked(now) { last = now; wanted = false; inFlight = true; },
    answered() { inFlight = false; },
  };
}

/** Write one row's POP cell: the percentage, or "—" and the note for a screen reader. */
export function writePopCell(td, cell) {
  const text = cell ? cell.text : '';
  const title = cell ? cell.title : '';
  const why = cell ? cell.why : '';
  if (td.getAttribute('data-pop') === `${text}|${title}|${why}`) return;
  td.setAttribute('data-pop', `${text}|${title}|${why}`);
  if (title) td.setAttribute('title', title);
  else td.removeAttribute('title');
  const said = why ? td.ownerDocument.createElement('span') : null; // the note, for a screen reader
  if (said) {
    said.className = 'sr-only';
    said.textContent = ` ${why}`;
  }
  td.replaceChildren(text, ...(said ? [said] : []));
}

/** env: {fetch, now, hidden}; returns {render(state), info()}. */
export function createPositionOdds(doc, env) {
  const schedule = oddsSchedule(env.now());
  let cells = null; // null until the first answer: the page's own cells stand
  let key = null; // the positions the last state held (null: no snapshot yet)
  let accounts = null;
  let refreshes = 0;
  let strategies = null;

  function draw() {
    if (!cells) return;
    for (const row of doc.querySelectorAll('tr[data-position]')) {
      const td = row.querySelector('td[data-field="pop"]');
      if (td) writePopCell(td, cells.get(row.getAttribute('data-position')) || null);
    }
  }

  async function ask() {
    schedule.asked(env.now());
    try {
      const r = await env.fetch('/api/risk/strategies', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!r.ok) return; // the cells stay as they were; the next change or period asks again
      const answer = await r.json();
      strategies = answer.strategies || [];
      cells = positionPops(strategies);
      refreshes += 1;
      draw();
    } catch (e) {
      // offline or a torn answer: the cells stay; the next period asks again
    } finally {
      schedule.answered();
    }
  }

  function maybeAsk() {
    if (schedule.due(env.now(), env.hidden())) ask();
  }

  return {
    /** Each render and the once-a-second tick: a change of the positions, the period, a
     *  change held back by the gap or by a hidden page. */
    render(state) {
      if (!state.snapshots) return; // the page's own cells until the stream's snapshot
      if (state.accounts !== accounts) {
        accounts = state.accounts;
        const next = positionsKey(state.accounts);
        if (key !== null && next !== key) schedule.changed();
        key = next;
        draw(); // a new row gets its cell
      }
      maybeAsk();
    },
    /** For tests: how many answers were drawn, and the last one's strategies. */
    info: () => ({ refreshes, strategies }),
  };
}
