// The odds as text wherever a page shows them (static/js/stream/odds.js): the dashboard's
// POP cells by position, the ticket preview's line; and when the dashboard asks the
// strategies again (static/js/stream/render/odds.js `oddsSchedule`). Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { positionPops, previewOdds } from '../../static/js/stream/odds.js';
import { CHANGE_GAP_MS, REFRESH_EVERY_MS, oddsSchedule } from '../../static/js/stream/render/odds.js';

const INPUTS = { price: 590.12, iv: 0.24, rate: 0.04, days: 45.312345 };
const INPUTS_TEXT = 'price 590.12, IV 24.0%, rate 4.0%, 45.3 days';
const SPREAD_NOTE = 'Its legs expire on different days: POP is for one expiration.';
const leg = (symbol, kind = 'put') => ({ symbol, kind, quantity: -1 });

test("each option position takes its strategy's POP cell, keyed by account and symbol", () => {
  const cells = positionPops([
    { account: 'A1', legs: [leg('SPY   261218P00580000'), leg('SPY   261218P00575000')], probability_of_profit: 0.7412, pop_inputs: INPUTS, pop_note: null },
    { account: 'B2', legs: [leg('SPY   261218C00600000', 'call'), leg('SPY   270115C00600000', 'call')], probability_of_profit: null, pop_inputs: null, pop_note: SPREAD_NOTE },
  ]);
  assert.deepEqual(Object.fromEntries(cells), {
    'A1|SPY   261218P00580000': { text: '74%', title: INPUTS_TEXT, why: '' },
    'A1|SPY   261218P00575000': { text: '74%', title: INPUTS_TEXT, why: '' },
    'B2|SPY   261218C00600000': { text: '—', title: SPREAD_NOTE, why: SPREAD_NOTE },
    'B2|SPY   270115C00600000': { text: '—', title: SPREAD_NOTE, why: SPREAD_NOTE },
  });
});

test('stock has no POP cell; a position split across two strategies takes the first listed', () => {
  const call = leg('SPY   261218C00610000', 'call');
  const cells = positionPops([
    { account: 'C3', legs: [{ symbol: 'SPY', kind: 'stock', quantity: 100 }, call], probability_of_profit: 0.81, pop_inputs: INPUTS, pop_note: null },
    { account: 'C3', legs: [call], probability_of_profit: 0.66, pop_inputs: INPUTS, pop_note: null },
  ]);
  assert.deepEqual([...cells.keys()], ['C3|SPY   261218C00610000']);
  assert.equal(cells.get('C3|SPY   261218C00610000').text, '81%');
  assert.deepEqual(positionPops(undefined), new Map());
});

test("the ticket preview's odds: POP and its inputs, a null's note in words, nothing without odds", () => {
  assert.deepEqual(previewOdds({ probability_of_profit: 0.745, pop_inputs: INPUTS, pop_note: null }), { text: 'POP 75%', title: INPUTS_TEXT });
  assert.deepEqual(previewOdds({ probability_of_profit: 0, pop_inputs: INPUTS, pop_note: null }), { text: 'POP 0%', title: INPUTS_TEXT });
  assert.deepEqual(previewOdds({ probability_of_profit: null, pop_inputs: null, pop_note: SPREAD_NOTE }), { text: `POP — ${SPREAD_NOTE}`, title: SPREAD_NOTE });
  assert.equal(previewOdds(null), null); // an order that opens no option
  assert.equal(previewOdds(undefined), null); // a server that says nothing of the odds
});

test('the strategies are asked every 30 s, 2 s after a change of the positions, one at a time, never while hidden', () => {
  const s = oddsSchedule(1000); // the page's own cells: an answer at load
  assert.equal(s.due(1000 + REFRESH_EVERY_MS - 1, false), false);
  assert.equal(s.due(1000 + REFRESH_EVERY_MS, false), true);
  assert.equal(s.due(1000 + REFRESH_EVERY_MS, true), false); // hidden: not asked
  s.changed(); // a fill
  assert.equal(s.due(1000 + CHANGE_GAP_MS - 1, false), false);
  assert.equal(s.due(1000 + CHANGE_GAP_MS, false), true);
  s.asked(5000);
  s.changed(); // another fill while the answer travels: asked once the first is back
  assert.equal(s.due(5000 + CHANGE_GAP_MS, false), false);
  s.answered();
  assert.equal(s.due(5000 + CHANGE_GAP_MS - 1, false), false);
  assert.equal(s.due(5000 + CHANGE_GAP_MS, false), true);
  s.asked(8000);
  s.answered(); // no change since: the period again
  assert.equal(s.due(8000 + REFRESH_EVERY_MS - 1, false), false);
  assert.equal(s.due(8000 + REFRESH_EVERY_MS, false), true);
});
