// The market overview's pure parts (static/js/stream/overview.js): last, change and
// change % from a quote's previous close, "—" for what cannot be computed, the heat scale.
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  DEFAULT_OVERVIEW, HEAT_STEPS, fmtPct, heatLevel, tileLabel, tileText, tileValues,
} from '../../static/js/stream/overview.js';

test('the default list is the ten index ETFs and the VIX, in order', () => {
  assert.deepEqual(DEFAULT_OVERVIEW, ['SPY', 'QQQ', 'IWM', 'DIA', 'VIX', 'GLD', 'TLT', 'EEM', 'XLF', 'XLE']);
});

test('change and change % come from last and prev_close', () => {
  assert.deepEqual(tileValues({ last: 590.12, prev_close: 588 }), {
    last: 590.12, prevClose: 588, change: 2.12, changePct: 0.360544,
  });
  // a fall; floating noise is rounded away (6 decimals)
  assert.deepEqual(tileValues({ last: 15.3, prev_close: 16.1 }), {
    last: 15.3, prevClose: 16.1, change: -0.8, changePct: -4.968944,
  });
  // numeric strings count; the broker's own `change` field is not used
  assert.equal(tileValues({ last: '101', prev_close: '100', change: 99 }).change, 1);
});

test('a missing previous close (or last) is null, never 0', () => {
  for (const q of [{ last: 590 }, { last: 590, prev_close: null }, { last: null, prev_close: 588 }, {}, null, undefined]) {
    const v = tileValues(q);
    assert.equal(v.change, null, JSON.stringify(q));
    assert.equal(v.changePct, null, JSON.stringify(q));
  }
  assert.equal(tileValues({ last: 590 }).last, 590);
  // a previous close of 0 (or below) gives a change but no percentage
  assert.deepEqual(tileValues({ last: 1, prev_close: 0 }), { last: 1, prevClose: 0, change: 1, changePct: null });
});

test('the text of a tile: "—" for every missing number', () => {
  assert.deepEqual(tileText(tileValues({ last: 590 })), { last: '590.00', change: '—', changePct: '—' });
  assert.deepEqual(tileText(tileValues({ last: 590.12, prev_close: 588 })), { last: '590.12', change: '+2.12', changePct: '+0.36%' });
  assert.deepEqual(tileText(tileValues({ last: 15.3, prev_close: 16.1 })), { last: '15.30', change: '-0.80', changePct: '-4.97%' });
  assert.equal(tileText(tileValues({ last: 100.001, prev_close: 100.004 })).change, '0.00', 'never -0.00');
  assert.equal(fmtPct(null), '—');
  assert.equal(fmtPct(0), '0.00%');
});

test('heat level: five steps each way by change %, 0 for flat, null for unknown', () => {
  assert.deepEqual(HEAT_STEPS, [0.05, 0.5, 1, 2, 3]);
  assert.equal(heatLevel(null), null);
  assert.equal(heatLevel(0), 0);
  assert.equal(heatLevel(0.049), 0);
  assert.equal(heatLevel(0.05), 1);
  assert.equal(heatLevel(0.36), 1);
  assert.equal(heatLevel(0.5), 2);
  assert.equal(heatLevel(1.2), 3);
  assert.equal(heatLevel(2), 4);
  assert.equal(heatLevel(3), 5);
  assert.equal(heatLevel(42), 5);
  assert.equal(heatLevel(-0.36), -1);
  assert.equal(heatLevel(-4.97), -5);
  assert.equal(heatLevel(-0.01), 0);
});

test('a tile says its change in words: colour is never the only carrier', () => {
  assert.equal(tileLabel('SPY', tileValues({ last: 590.12, prev_close: 588 })), 'SPY 590.12, up 2.12 (+0.36%)');
  assert.equal(tileLabel('VIX', tileValues({ last: 15.3, prev_close: 16.1 })), 'VIX 15.30, down 0.80 (-4.97%)');
  assert.equal(tileLabel('DIA', tileValues({ last: 430, prev_close: 430 })), 'DIA 430.00, unchanged (0.00%)');
  assert.equal(tileLabel('GLD', tileValues({ last: 190 })), 'GLD 190.00, change unknown (no previous close)');
  assert.equal(tileLabel('TLT', tileValues(null)), 'TLT, no quote yet');
});
