// The /risk page's limits row (static/js/risk/limits.js): where the live β-weighted
// delta (static/js/stream/exposure.js) and day P&L (static/js/stream/totals.js) stand against
// the user's band and daily loss limit, with the sentences page/rows.py renders first
// (tests/streaming/test_risk_page_rows.py runs both on one table of cases).
import test from 'node:test';
import assert from 'node:assert/strict';

import { applyFrame, applySnapshot, initialState } from '../../../static/js/stream/state.js';
import { portfolioBetaDelta } from '../../../static/js/stream/exposure.js';
import { bandStatus, limitDayPnl, lossStatus } from '../../../static/js/risk/limits.js';

const NOW = 1780000000000;
const snap = {
  type: 'snapshot', epoch: 'e', seq: 1, t: NOW,
  accounts: [{
    number: 'A1', broker: 'tastytrade', link: 1,
    balance: { net_liquidating_value: 100000 },
    positions: [
      { symbol: 'SPY', streamer_symbol: 'SPY', instrument_type: 'Equity', quantity: 10, direction: 'Long', multiplier: 1, close_price: 590 },
      { symbol: 'KO', streamer_symbol: 'KO', instrument_type: 'Equity', quantity: 20, direction: 'Short', multiplier: 1, close_price: 61 },
    ],
  }],
  quotes: { SPY: { bid: 599.9, ask: 600.1, t: NOW }, KO: { last: 60, t: NOW } },
  greeks: {},
  metrics: { SPY: { beta: 1 }, KO: { beta: 0.6 } },
};

test('the band: inside with the room left, above or below by how far, unknown not evaluated', () => {
  assert.deepEqual(bandStatus(20, -50, 100), ['inside', 'inside, 70.0 SPY shares from the edge']);
  assert.deepEqual(bandStatus(-50, -50, 100), ['inside', 'inside, 0.0 SPY shares from the edge']);
  assert.deepEqual(bandStatus(105.18, -50, 100), ['above', 'above the band by 5.2 SPY shares']);
  assert.deepEqual(bandStatus(-60, -50, 100), ['below', 'below the band by 10.0 SPY shares']);
  assert.deepEqual(bandStatus(20, null, 100), ['inside', 'inside, 80.0 SPY shares from the edge']);
  assert.deepEqual(bandStatus(null, -50, 100), ['unknown', 'β-weighted delta unknown: the band is not evaluated']);
  assert.deepEqual(bandStatus(5, null, null), ['off', 'no band set']);
});

test('the daily loss: crossed at −limit or below, else how much is left', () => {
  assert.deepEqual(lossStatus(-300, 1000), ['inside', '700.00 $ before the limit']);
  assert.deepEqual(lossStatus(-1000, 1000), ['outside', 'past the limit by 0.00 $']);
  assert.deepEqual(lossStatus(-1204.5, 1000), ['outside', 'past the limit by 204.50 $']);
  assert.deepEqual(lossStatus(null, 1000)[0], 'unknown');
  assert.deepEqual(lossStatus(-5, null), ['off', 'no daily loss limit']);
});

test('the live values: β-weighted delta and day P&L follow the quotes', () => {
  let state = applySnapshot(initialState(), snap, 'page');
  // SPY: 10 shares at β 1; KO: −20 × 60 × 0.6 / 600 = −1.2
  assert.ok(Math.abs(portfolioBetaDelta(state, NOW) - 8.8) < 1e-9);
  // (600 − 590) × 10 + (60 − 61) × −20 = 120
  assert.ok(Math.abs(limitDayPnl(state) - 120) < 1e-9);
  state = applyFrame(state, { type: 'quotes', quotes: { SPY: { bid: 579.9, ask: 580.1 }, KO: { last: 66 } }, t: NOW + 1000 });
  // KO: −20 × 66 × 0.6 / 580
  assert.ok(Math.abs(portfolioBetaDelta(state, NOW) - (10 - (20 * 66 * 0.6) / 580)) < 1e-9);
  // (580 − 590) × 10 + (66 − 61) × −20 = −200
  assert.ok(Math.abs(limitDayPnl(state) + 200) < 1e-9);
  assert.deepEqual(lossStatus(limitDayPnl(state), 150), ['outside', 'past the limit by 50.00 $']);
});

test('unknown inputs: no β → no β-weighted delta; a position without a close → no day P&L', () => {
  const partial = structuredClone(snap);
  delete partial.metrics.KO;
  delete partial.accounts[0].positions[1].close_price;
  const state = applySnapshot(initialState(), partial, 'page');
  assert.equal(portfolioBetaDelta(state, NOW), null);
  assert.equal(limitDayPnl(state), null);
  assert.equal(portfolioBetaDelta(applySnapshot(initialState(), { ...snap, accounts: [] }, 'page'), NOW), 0);
});
