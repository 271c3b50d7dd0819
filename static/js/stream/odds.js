/*
 * The odds as text (pure), wherever a page shows them: the /risk page's POP and P50 cells
 * (static/js/risk/strategy-rows.js), the dashboard's positions' POP cells (render/odds.js)
 * and the ticket's preview line (static/js/trading/ticket/dialog.js). The same texts as
 * streaming/risk/page/odds_text.py: every number rounded half up (`floor(x·10^d + 0.5)`),
 * the same float operations in both languages, so the server's first paint and the
 * browser's refresh never differ at a tie (docs/streaming-contract.md, "The odds").
 */

export const DASH = '—';

/**
 * `v` to `digits` decimals, en-US grouping, a tie rounded up (590.125 → "590.13"): the same
 * float operations as streaming/risk/page/odds_text.py `half_up`, so the texts agree.
 */
export function halfUp(v, digits) {
  const scale = 10 ** digits;
  const rounded = Math.floor(v * scale + 0.5) / scale;
  return rounded.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A probability (0 to 1) as a whole percentage, a tie rounded up: 0.745 → "75%". */
export const percent = (p) => `${Math.floor(p * 100 + 0.5)}%`;

/** "price 590.12, IV 24.0%, rate 4.0%, 45.3 days": what the odds were weighed from. */
export const inputsText = (i) => `price ${halfUp(i.price, 2)}, IV ${halfUp(i.iv * 100, 1)}%, rate ${halfUp(i.rate * 100, 1)}%, ${halfUp(i.days, 1)} days`;

const known = (v) => typeof v === 'number' && Number.isFinite(v);

/**
 * The POP and P50 cells (odds_text.py `odds_cells`): the percentage or "—"; `*_title` the
 * inputs, or the note when null; `*_why` the note for a screen reader ("" beside a number).
 */
export function oddsCells(s) {
  const inputs = s.pop_inputs ? inputsText(s.pop_inputs) : '';
  const cells = {};
  for (const [key, value, note] of [['pop', s.probability_of_profit, s.pop_note], ['p50', s.p50, s.p50_note]]) {
    const why = known(value) ? '' : note || 'unknown';
    cells[key] = known(value) ? percent(value) : DASH;
    cells[`${key}_title`] = known(value) ? inputs : why;
    cells[`${key}_why`] = why;
  }
  return cells;
}

/** A POP cell alone: {text, title, why} (why: the note for a screen reader, "" beside a number). */
export function popCell(s) {
  const c = oddsCells(s);
  return { text: c.pop, title: c.pop_title, why: c.pop_why };
}

/**
 * Each option position's POP cell, from `GET /api/risk/strategies`' rows: "<account>|<leg
 * symbol>" (the position's symbol as its broker spells it, the positions table's row key) →
 * popCell of the strategy it is part of. A position split across two strategies (two short
 * calls against 100 shares: a covered call and a short call) takes the first listed (the
 * API's order). Stock legs have no POP cell (odds_text.py `position_pops`).
 */
export function positionPops(strategies) {
  const cells = new Map();
  for (const s of strategies || []) {
    for (const leg of s.legs || []) {
      if (leg.kind === 'stock') continue;
      const key = `${s.account}|${leg.symbol}`;
      if (!cells.has(key)) cells.set(key, popCell(s));
    }
  }
  return cells;
}

/**
 * The ticket preview's odds line (`preview.odds`: {probability_of_profit, pop_inputs,
 * pop_note}, null for an order that opens no option): {text, title}, or null to show
 * nothing. "POP 74%" titled with its inputs; a null's note in words: "POP — <note>".
 */
export function previewOdds(odds) {
  if (!odds || typeof odds !== 'object') return null;
  const c = popCell(odds);
  if (c.why) return { text: `POP ${DASH} ${c.why}`, title: c.why };
  return { text: `POP ${c.text}`, title: c.title };
}

/** What the strategies depend on: every account's positions (symbol, quantity, side, cost). */
export function positionsKey(accounts) {
  const parts = [];
  for (const a of accounts.values()) {
    for (const p of a.positions.values()) parts.push(`${a.number}|${p.symbol}|${p.quantity}|${p.direction}|${p.average_open_price}`);
  }
  return parts.sort().join('\n');
}
