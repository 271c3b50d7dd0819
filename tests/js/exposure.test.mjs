// β-weighted delta, IV rank, DTE and expected move in the browser (static/js/stream/exposure.js),
// on the fixture tests/streaming/test_exposure_agree.py also feeds to exposure.py.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { applyFrame, applySnapshot, initialState } from '../../static/js/stream/state.js';
import { ageText, betaTitle, ivRankTitle, positionExposure } from '../../static/js/stream/exposure.js';

const SNAP = JSON.parse(readFileSync(new URL('../fixtures/exposure-snapshot.json', import.meta.url), 'utf8'));
const NOW = SNAP.now_ms;
const DAY = 86400000;
const state = applySnapshot(initialState(), SNAP, 'page');
const exposure = (account, symbol) => positionExposure(state, state.accounts.get(account).positions.get(symbol), NOW);
const close = (a, b) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

const SPY = (600.0 + 600.2) / 2;
const AAPL = (210.0 + 210.5) / 2;

test('stock: β × price × signed shares ÷ SPY price', () => {
  const e = exposure('5WT001', 'AAPL');
  close(e.delta_shares, 100);
  close(e.beta_delta, 1.21 * AAPL * 100 / SPY);
  close(e.beta_delta_dollars, 1.21 * AAPL * 100);
  assert.equal(e.dte, null);
  assert.equal(e.expected_move, null);
  assert.equal(e.iv_rank, 35.5);
  assert.equal(e.iv_percentile, 41);
});

test('short option: delta × multiplier × −quantity; the expiration\'s own IV for the move', () => {
  const p = state.accounts.get('5WT001').positions.get('AAPL  260627C00200000');
  const e = exposure('5WT001', p.symbol);
  close(e.delta_shares, 0.62 * 100 * -2);
  close(e.beta_delta, 1.21 * AAPL * (0.62 * 100 * -2) / SPY);
  const dte = (p.expires_at - NOW) / DAY;
  close(e.dte, dte);
  close(e.iv, 0.295); // metrics.expiration_ivs, not the option's 0.31
  close(e.expected_move, AAPL * 0.295 * Math.sqrt(dte / 365));
});

test('an option without a multiplier counts 100; no expiration IV: the option\'s', () => {
  const e = exposure('5WT001', 'SPY  260726P00500000');
  close(e.delta_shares, -0.18 * 100 * 3);
  close(e.beta_delta, -54); // SPY's β 1 at SPY's price
  close(e.iv, 0.22);
  assert.equal(e.iv_rank, 20);
});

test('short stock priced at last; quantity as a string; no IV rank: null', () => {
  const e = exposure('5WT001', 'TSLA');
  close(e.beta_delta, 2.05 * 300 * -50 / SPY);
  assert.equal(e.iv_rank, null);
});

test('no metrics: no β-weighted delta (null, never 0)', () => {
  const e = exposure('VA0002', 'NOQ');
  assert.equal(e.delta_shares, 10);
  assert.equal(e.beta_delta, null);
  assert.equal(e.beta_delta_dollars, null);
  assert.equal(e.iv_rank, null);
});

test('no SPY quote: no β-weighted delta', () => {
  const { SPY: _, ...quotes } = SNAP.quotes; // eslint-disable-line no-unused-vars
  const s = applySnapshot(initialState(), { ...SNAP, quotes }, 'page');
  assert.equal(positionExposure(s, s.accounts.get('5WT001').positions.get('AAPL'), NOW).beta_delta, null);
});

test('a metrics frame replaces the entries it names and keeps the others', () => {
  const fresh = { ...SNAP.metrics.AAPL, beta: 1.5, t: NOW };
  const s = applyFrame(state, { type: 'metrics', metrics: { AAPL: fresh }, t: NOW });
  assert.equal(s.metrics.get('AAPL').beta, 1.5);
  assert.equal(s.metrics.get('TSLA').beta, 2.05);
  assert.equal(state.metrics.get('AAPL').beta, 1.21, 'the old state is unchanged');
  close(positionExposure(s, s.accounts.get('5WT001').positions.get('AAPL'), NOW).beta_delta, 1.5 * AAPL * 100 / SPY);
  assert.equal(applyFrame(state, { type: 'metrics', t: NOW }), state, 'a frame without metrics changes nothing');
  // a new snapshot is the authority: an underlying it lacks is gone
  const again = applySnapshot(s, { ...SNAP, metrics: { SPY: SNAP.metrics.SPY } }, 'poll');
  assert.deepEqual(Array.from(again.metrics.keys()), ['SPY']);
});

test('titles say the source and the age', () => {
  assert.equal(ageText(NOW - 180000, NOW), '3 min ago');
  assert.equal(ageText(NOW - 10000, NOW), 'just now');
  assert.equal(ageText(null, NOW), 'at an unknown time');
  // as of the day before, in the trader's zone (New York's unless chosen), named
  assert.equal(betaTitle('AAPL', SNAP.metrics.AAPL, NOW),
    'β 1.21 from tastytrade, as of May 27, 16:26 EDT (fetched 3 min ago); β-weighted delta in SPY shares');
  assert.match(betaTitle('MSFT', SNAP.metrics.MSFT, NOW), /^β 0\.95 from regression \(1y daily closes vs SPY\), as of /);
  assert.match(betaTitle('NOQ', {}, NOW), /^No β for NOQ/);
  assert.equal(ivRankTitle('AAPL', SNAP.metrics.AAPL, NOW), 'IV rank 36 (tastytrade, 3 min ago)');
  assert.match(ivRankTitle('TSLA', SNAP.metrics.TSLA, NOW), /^No IV rank for TSLA/);
});

// every kind of instrument, as the stream names it (docs/streaming-contract.md "tastytrade's
// definitions"): the underlying is the contract symbol, its price that instrument's quote
const KINDS = {
  ...SNAP,
  accounts: [{
    number: 'K1', link: 1, broker: 'tastytrade', positions: [
      { symbol: 'BTC/USD', streamer_symbol: 'BTC/USD:CXTALP', underlying: 'BTC/USD:CXTALP', instrument_type: 'Cryptocurrency', quantity: 0.25, direction: 'Long', multiplier: 1 },
      { symbol: '/ESZ6', streamer_symbol: '/ESZ26:XCME', underlying: '/ESZ26:XCME', instrument_type: 'Future', quantity: 2, direction: 'Short', multiplier: 50 },
      { symbol: './ESZ6 ESZ6 261218C6000', streamer_symbol: './ESZ26C6000:XCME', underlying: '/ESZ26:XCME', instrument_type: 'Future Option', quantity: 1, direction: 'Long', multiplier: 50, expires_at: NOW + 30 * DAY },
      { symbol: 'BTCUSD', streamer_symbol: 'BTC/USD:CXTALP', instrument_type: 'Cryptocurrency', quantity: 0.5, direction: 'Long', multiplier: 1 },
    ],
  }],
  quotes: { ...SNAP.quotes, 'BTC/USD:CXTALP': { bid: 94995, ask: 95005 }, '/ESZ26:XCME': { bid: 5999.75, ask: 6000.25 }, 'BTC/USD': { bid: 14.3, ask: 14.4 } },
  greeks: { ...SNAP.greeks, './ESZ26C6000:XCME': { delta: 0.34, iv: 0.15 } },
  metrics: { ...SNAP.metrics, 'BTC/USD:CXTALP': { beta: 1.81 }, '/ESZ26:XCME': { beta: 1 } },
};

test('a coin: its quantity at its own feed\'s price, never a look-alike stock\'s', () => {
  const s = applySnapshot(initialState(), KINDS, 'page');
  const e = positionExposure(s, s.accounts.get('K1').positions.get('BTC/USD'), NOW);
  assert.equal(e.underlying, 'BTC/USD:CXTALP');
  close(e.delta_shares, 0.25);
  close(e.beta_delta, 1.81 * 95000 * 0.25 / SPY);
  // without `underlying`, a coin is its own contract symbol, not its broker's spelling
  const alpaca = positionExposure(s, s.accounts.get('K1').positions.get('BTCUSD'), NOW);
  assert.equal(alpaca.underlying, 'BTC/USD:CXTALP');
  close(alpaca.beta_delta, 1.81 * 95000 * 0.5 / SPY);
});

test('a future: its point value × signed quantity; its option: delta × the future\'s point value', () => {
  const s = applySnapshot(initialState(), KINDS, 'page');
  const future = positionExposure(s, s.accounts.get('K1').positions.get('/ESZ6'), NOW);
  close(future.delta_shares, -100);
  close(future.beta_delta, 6000 * -100 / SPY);
  const call = positionExposure(s, s.accounts.get('K1').positions.get('./ESZ6 ESZ6 261218C6000'), NOW);
  close(call.delta_shares, 0.34 * 50);
  close(call.beta_delta, 6000 * 0.34 * 50 / SPY);
});
