// The scenario grid's pure parts (static/js/risk/scenarios.js): its URL, the table's cells from an
// answer (5 IV shifts × 7 moves, the 0 / 0 cell "now"), the strategy select. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { moveText, scenarioCells, scenarioUrl, shiftText, strategyOptions } from '../../../static/js/risk/scenarios.js';

const MOVES = [-10, -5, -2.5, 0, 2.5, 5, 10];
const SHIFTS = [-10, -5, 0, 5, 10];
const answer = {
  underlying: 'SPY',
  price: 600,
  moves: MOVES,
  iv_shifts: SHIFTS,
  prices: MOVES.map((m) => 600 * (1 + m / 100)),
  // row i, column j: a hand-made P&L: 1000 × move + 10 × shift, one cell unknown
  pnl: SHIFTS.map((s, i) => MOVES.map((m, j) => (i === 4 && j === 6 ? null : 1000 * m + 10 * s))),
};

test('the URL: the underlying encoded, a date and a strategy when given', () => {
  assert.equal(scenarioUrl('/api/risk/', 'SPY'), '/api/risk/SPY/scenarios');
  assert.equal(
    scenarioUrl('/api/risk/', '/ESZ26:XCME', { date: '2026-12-04', strategy: '0a1b2c3d4e5f' }),
    '/api/risk/%2FESZ26%3AXCME/scenarios?date=2026-12-04&strategy=0a1b2c3d4e5f',
  );
  assert.equal(scenarioUrl('/api/risk/', 'SPY', { date: 'expiration' }), '/api/risk/SPY/scenarios?date=expiration');
});

test('heads: signed moves and shifts, zero as ±0', () => {
  assert.deepEqual(MOVES.map(moveText), ['−10%', '−5%', '−2.5%', '±0%', '+2.5%', '+5%', '+10%']);
  assert.deepEqual(SHIFTS.map(shiftText), ['−10 vol pts', '−5 vol pts', '±0 vol pts', '+5 vol pts', '+10 vol pts']);
});

test('cells: 5 rows × 7 columns, signed money, one "now" cell at no move and no shift', () => {
  const { columns, rows } = scenarioCells(answer);
  assert.equal(columns.length, 7);
  assert.equal(rows.length, 5);
  assert.ok(rows.every((r) => r.cells.length === 7));
  assert.deepEqual(rows.map((r) => r.shift), SHIFTS);
  const nows = rows.flatMap((r, i) => r.cells.map((c, j) => (c.now ? [i, j] : null))).filter(Boolean);
  assert.deepEqual(nows, [[2, 3]]);
  const now = rows[2].cells[3];
  assert.equal(now.pnl, 0);
  assert.equal(now.sign, 'zero');
  assert.match(now.title, /^now: price 600\.00 \(±0%\), IV ±0 vol pts$/);
  const low = rows[0].cells[0]; // −10 % and −10 points: 1000 × −10 + 10 × −10
  assert.equal(low.pnl, -10100);
  assert.equal(low.sign, 'neg');
  assert.equal(low.text, '-10,100.00');
  const high = rows[3].cells[6];
  assert.equal(high.text, '+10,050.00');
  assert.equal(high.sign, 'pos');
  assert.equal(rows[4].cells[6].text, '—'); // unknown: a dash, never 0
  assert.equal(rows[4].cells[6].pnl, null);
});

test('no answer: no cells', () => {
  assert.deepEqual(scenarioCells(null), { columns: [], rows: [] });
});

test('the strategy options: the whole underlying first, then this underlying’s strategies by key', () => {
  const strategies = [
    { key: 'aaaaaaaaaaaa', name: 'short put', underlying: 'SPY', account: '5WT1', expirations: ['2027-01-15'] },
    { key: 'bbbbbbbbbbbb', name: 'long stock', underlying: 'QQQ', account: '5WT1', expirations: [] },
    { key: 'cccccccccccc', name: 'call debit vertical', underlying: 'SPY', account: 'PA2', expirations: ['2027-02-19'] },
  ];
  assert.deepEqual(strategyOptions(strategies, 'SPY'), [
    { value: '', label: 'Whole underlying' },
    { value: 'aaaaaaaaaaaa', label: 'short put · 5WT1 · 2027-01-15' },
    { value: 'cccccccccccc', label: 'call debit vertical · PA2 · 2027-02-19' },
  ]);
  assert.deepEqual(strategyOptions(undefined, 'SPY'), [{ value: '', label: 'Whole underlying' }]);
});

test('after a fill the select follows the strategies: the choice kept while it exists, else the whole underlying with a sentence', async () => {
  const { refilledSelect } = await import('../../../static/js/risk/scenarios.js');
  const put = { key: 'aaaaaaaaaaaa', name: 'short put', underlying: 'SPY', account: '5WT1', expirations: ['2027-01-15'] };
  const vertical = { key: 'cccccccccccc', name: 'put credit vertical', underlying: 'SPY', account: '5WT1', expirations: ['2027-01-15'] };
  // a new strategy is offered and the chosen one is kept
  const chosen = { value: 'aaaaaaaaaaaa', label: 'short put · 5WT1 · 2027-01-15' }; // the select's option
  const kept = refilledSelect([put, vertical], 'SPY', chosen);
  assert.deepEqual(kept.options.map((o) => o.value), ['', 'aaaaaaaaaaaa', 'cccccccccccc']);
  assert.equal(kept.value, 'aaaaaaaaaaaa');
  assert.equal(kept.note, '');
  // the short put was rolled into a vertical (its key is gone): the whole underlying, said so
  const gone = refilledSelect([vertical], 'SPY', chosen);
  assert.deepEqual(gone.options.map((o) => o.value), ['', 'cccccccccccc']);
  assert.equal(gone.value, '');
  assert.equal(gone.note, 'The strategy chosen (short put · 5WT1 · 2027-01-15) is no longer held: showing the whole underlying.');
  // the whole underlying chosen: nothing to say
  assert.deepEqual(refilledSelect([vertical], 'SPY', { value: '', label: 'Whole underlying' }), { options: gone.options, value: '', note: '' });
});
