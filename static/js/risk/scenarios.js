/*
 * The /risk page's scenario grid, pure: the URL it asks (`GET /api/risk/<U>/scenarios`),
 * the table's cells from the answer (rows: IV shifts, columns: price moves; the 0 / 0 cell
 * is "now"), and the strategy select's options. Every number is the server's; this only
 * words them, so a node test can check the table without a browser.
 */
import { DASH, fmt } from '../stream/format.js';

/** The grid's URL: `/api/risk/SPY/scenarios?date=2026-12-04&strategy=0a1b…`; a null date
 *  (now) and no strategy (the whole underlying) are omitted. */
export function scenarioUrl(base, underlying, { date = null, strategy = '' } = {}) {
  const params = new URLSearchParams();
  if (date) params.set('date', date);
  if (strategy) params.set('strategy', strategy);
  const query = params.toString();
  return `${base}${encodeURIComponent(underlying)}/scenarios${query ? `?${query}` : ''}`;
}

const signed = (v, unit) => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v)}${unit}`;

/** The column heads: "−10%", "±0%", "+2.5%". */
export const moveText = (move) => signed(move, '%');
/** The row heads: "−10 vol pts", "±0 vol pts". */
export const shiftText = (shift) => signed(shift, ' vol pts');

/**
 * The table from an answer: `{columns: [{move, text}], rows: [{shift, text, cells: [{pnl,
 * text, sign, now, title}]}]}`; `sign` is "pos", "neg" or "zero" (a cell's colour), `now`
 * the no-move, no-shift cell. A missing value reads "—", never 0.
 */
export function scenarioCells(answer) {
  const moves = answer && Array.isArray(answer.moves) ? answer.moves : [];
  const shifts = answer && Array.isArray(answer.iv_shifts) ? answer.iv_shifts : [];
  const prices = (answer && answer.prices) || [];
  const columns = moves.map((move) => ({ move, text: moveText(move) }));
  const rows = shifts.map((shift, i) => {
    const row = (answer.pnl && answer.pnl[i]) || [];
    return {
      shift,
      text: shiftText(shift),
      cells: moves.map((move, j) => {
        const pnl = typeof row[j] === 'number' && Number.isFinite(row[j]) ? row[j] : null;
        const now = move === 0 && shift === 0;
        const price = typeof prices[j] === 'number' ? fmt.price(prices[j]) : DASH;
        return {
          pnl,
          text: fmt.pnl(pnl),
          sign: pnl === null || pnl === 0 ? 'zero' : pnl > 0 ? 'pos' : 'neg',
          now,
          title: `${now ? 'now: ' : ''}price ${price} (${moveText(move)}), IV ${shiftText(shift)}`,
        };
      }),
    };
  });
  return { columns, rows };
}

/**
 * The select refilled from a new list of strategies (a fill, a new position): `{options,
 * value, note}`. The chosen strategy (`chosen`: the select's `{value, label}`) stays chosen
 * while its key is still offered; else the whole underlying, and `note` says so.
 */
export function refilledSelect(strategies, underlying, chosen) {
  const options = strategyOptions(strategies, underlying);
  const value = (chosen && chosen.value) || '';
  if (!value || options.some((o) => o.value === value)) return { options, value, note: '' };
  return { options, value: '', note: `The strategy chosen (${chosen.label}) is no longer held: showing the whole underlying.` };
}

/** The strategy select's options for one underlying: the whole underlying first, then each
 *  of its strategies by its key ("short put · 5WT1 · 2027-01-15"). */
export function strategyOptions(strategies, underlying) {
  const mine = (strategies || []).filter((s) => s && s.underlying === underlying && s.key);
  return [
    { value: '', label: 'Whole underlying' },
    ...mine.map((s) => ({
      value: s.key,
      label: [s.name, s.account, ...(s.expirations || [])].filter(Boolean).join(' · '),
    })),
  ];
}
