/*
 * The strategies list's rows from `GET /api/risk/strategies` (pure): each strategy's cells
 * as the server renders them at load (streaming/risk/page/rows.py `strategy_rows`: the
 * same texts, so a refresh never changes how a value reads), and the key of the positions
 * that decides when the list is asked again.
 */

const DASH = '—';

/** en-US with grouping, `digits` decimals, a sign when asked; "—" for null; never "-0.00". */
export function fmtNumber(v, digits = 2, sign = false) {
  if (v === null || v === undefined || !Number.isFinite(v)) return DASH;
  const x = Math.abs(v) < 0.5 * 10 ** -digits ? 0 : v;
  const text = Math.abs(x).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  if (x < 0) return `-${text}`;
  return sign ? `+${text}` : text;
}

const extreme = (v) => (v === 'unlimited' ? 'unlimited' : fmtNumber(typeof v === 'number' ? v : null));

/**
 * A number's shortest exact decimal, never in exponent form: 1e-7 → "0.0000001" (as
 * streaming/risk/names.py `quantity_text` reads Python's repr).
 */
function plainDecimal(v) {
  const text = String(v);
  const m = /^(\d)(?:\.(\d+))?e([+-])(\d+)$/.exec(text);
  if (!m) return text;
  const digits = m[1] + (m[2] || '');
  const exp = Number(m[4]);
  if (m[3] === '-') return `0.${'0'.repeat(exp - 1)}${digits}`;
  return digits + '0'.repeat(Math.max(0, exp - digits.length + 1));
}

/** A quantity exactly as held, en-US grouping, signed: "+2", "-1,000", "+0.25". */
export function signedQty(q) {
  const [whole, part] = plainDecimal(Math.abs(q)).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${q < 0 ? '-' : '+'}${grouped}${part ? `.${part}` : ''}`;
}

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

/** One strategy (`Strategy.as_dict()` and its odds) as the list's cells. */
export function strategyCells(s) {
  const g = s.greeks || {};
  return {
    name: s.name,
    underlying: s.display || s.underlying,
    account: s.account,
    legs: (s.legs || []).map((l) => `${signedQty(l.quantity)} ${l.display || l.symbol}`).join(', '),
    expirations: (s.expirations || []).join(', ') || DASH,
    delta: fmtNumber(g.delta, 1, true),
    theta: fmtNumber(g.theta, 2, true),
    vega: fmtNumber(g.vega, 2, true),
    net: s.net === null || s.net === undefined ? DASH : `${fmtNumber(Math.abs(s.net))} ${s.net_kind}`,
    max_profit: extreme(s.max_profit),
    max_loss: extreme(s.max_loss),
    breakevens: s.breakevens && s.breakevens.length ? s.breakevens.map((b) => fmtNumber(b)).join(', ') : DASH,
    ...oddsCells(s),
  };
}

/** What the strategies depend on: every account's positions (symbol, quantity, side, cost). */
export function positionsKey(accounts) {
  const parts = [];
  for (const a of accounts.values()) {
    for (const p of a.positions.values()) parts.push(`${a.number}|${p.symbol}|${p.quantity}|${p.direction}|${p.average_open_price}`);
  }
  return parts.sort().join('\n');
}
