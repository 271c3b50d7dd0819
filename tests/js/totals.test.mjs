// Portfolio totals (static/js/stream/totals.js): per currency, partial, greeks' signs.
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { applyFrame, applySnapshot, initialState } from '../../static/js/stream/state.js';
import {
  BROKER_CURRENCY, currencyOf, partialText, portfolioTotals, positionTheta, staleText,
} from '../../static/js/stream/totals.js';

const FIXTURE = JSON.parse(readFileSync(new URL('../fixtures/totals-snapshot.json', import.meta.url), 'utf8'));
const NOW = 1_760_000_000_000;
const close = (actual, expected, what) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
const load = (snap) => applySnapshot(initialState(), snap, 'stream');

const OPT = (right, direction, { delta, theta, qty = 1, mult = 100 } = {}) => ({
  symbol: `SPY   260320${right}00600000`, streamer_symbol: `.SPY260320${right}600`, underlying: 'SPY',
  instrument_type: 'Equity Option', quantity: qty, direction, average_open_price: 1, close_price: 1, multiplier: mult,
  _greeks: { delta, theta, t: NOW },
});
const STOCK = (direction, qty = 100) => ({
  symbol: 'SPY', streamer_symbol: 'SPY', underlying: 'SPY', instrument_type: 'Equity', quantity: qty, direction,
  average_open_price: 500, close_price: 500, multiplier: 1,
});

/** A one-account tastytrade snapshot holding `positions` (greeks from each `_greeks`). */
function single(positions, extra = {}) {
  const greeks = {};
  for (const p of positions) if (p._greeks) greeks[p.streamer_symbol] = p._greeks;
  return load({
    epoch: 'E', seq: 1, links: [],
    accounts: [{ number: 'A1', link: null, broker: 'tastytrade', balance: { net_liquidating_value: 1 }, positions: positions.map(({ _greeks, ...p }) => p) }],
    quotes: { SPY: { bid: 499, ask: 501, t: NOW } }, greeks, ...extra,
  });
}
const totalsOf = (state) => portfolioTotals(state).groups[0];

test('every broker streamdesk links keeps USD accounts; another broker has no known currency', () => {
  assert.deepEqual(BROKER_CURRENCY, { tastytrade: 'USD', tradier: 'USD', alpaca: 'USD' });
  assert.equal(currencyOf({ broker: 'Tradier' }), 'USD');
  assert.equal(currencyOf({ broker: 'ibkr' }), null);
  assert.equal(currencyOf({ broker: '' }), null);
});

test('the fixture: sums per currency over all three brokers, partial where inputs are missing', () => {
  const { groups, uncounted } = portfolioTotals(load(FIXTURE));
  assert.equal(groups.length, 1);
  const usd = groups[0];
  assert.equal(usd.currency, 'USD');
  assert.deepEqual(usd.accounts, ['5WT001', 'VA0002', 'PA0003']);
  assert.deepEqual(uncounted, [{ number: 'U999', broker: 'ibkr' }], 'an account of unknown currency is never added to dollars');
  const expect = {
    net_liq: [125000.5, 2, 3], buying_power: [50000.25, 1, 3],
    day_pnl: [306, 4, 5], open_pnl: [596, 4, 5],
    delta_shares: [125, 5, 5], delta_dollars: [65929, 4, 5], theta: [-6, 5, 5],
  };
  for (const [f, [value, have, of]] of Object.entries(expect)) {
    close(usd[f].value, value, f);
    assert.equal(usd[f].have, have, f);
    assert.equal(usd[f].of, of, f);
    assert.equal(usd[f].partial, have < of, f);
  }
  assert.equal(partialText('net_liq', usd.net_liq), 'partial: 2 of 3 accounts have a balance');
  assert.equal(partialText('day_pnl', usd.day_pnl), 'partial: 4 of 5 positions have a price and a previous close');
  assert.equal(partialText('theta', usd.theta), '');
});

test('an account of unknown currency is never added to the dollars', () => {
  const snap = structuredClone(FIXTURE);
  snap.accounts = [snap.accounts[0], { ...snap.accounts[1], broker: 'ibkr', balance: { net_liquidating_value: 5 } }];
  const t = portfolioTotals(load(snap));
  assert.deepEqual(t.groups.map((g) => g.currency), ['USD']);
  close(t.groups[0].net_liq.value, 100000.5, 'USD alone');
  assert.equal(t.groups[0].net_liq.partial, false);
  assert.deepEqual(t.uncounted, [{ number: 'VA0002', broker: 'ibkr' }]);
});

test('nothing known is "—" (null), never 0; nothing to sum is a true 0', () => {
  const state = load({
    epoch: 'E', seq: 0, links: [], quotes: {}, greeks: {},
    accounts: [
      { number: 'A', link: null, broker: 'alpaca', balance: {}, positions: [STOCK('Long')] },
      { number: 'B', link: null, broker: 'alpaca', balance: {}, positions: [] },
    ],
  });
  const t = totalsOf(state);
  assert.equal(t.net_liq.value, null);
  assert.deepEqual([t.net_liq.have, t.net_liq.of], [0, 2]);
  assert.equal(t.day_pnl.value, null, 'a stock without a quote or a broker mark has no P&L');
  assert.equal(t.delta_shares.value, 100, 'but its delta is its shares');
  assert.equal(t.delta_dollars.value, null, 'and no price to value them at');
  const flat = totalsOf(load({ epoch: 'E', seq: 0, accounts: [{ number: 'B', broker: 'tradier', balance: { net_liquidating_value: 0 }, positions: [] }] }));
  assert.equal(flat.net_liq.value, 0, 'a real zero balance');
  for (const f of ['day_pnl', 'open_pnl', 'delta_shares', 'delta_dollars', 'theta']) {
    assert.equal(flat[f].value, 0, `${f} without positions`);
    assert.equal(flat[f].partial, false, f);
  }
});

test('a position without a mark or greeks makes P&L and greeks partial, not 0', () => {
  const opt = OPT('C', 'Long', { delta: 0.5, theta: -0.1 });
  delete opt._greeks;
  const state = single([STOCK('Long'), opt]);
  const t = totalsOf(state);
  assert.equal(t.delta_shares.have, 1);
  assert.equal(t.delta_shares.of, 2);
  assert.equal(t.delta_shares.partial, true);
  close(t.delta_shares.value, 100, 'the stock alone');
  assert.equal(t.theta.have, 1);
  assert.equal(t.day_pnl.have, 1, 'the option has no quote and no broker mark');
  assert.equal(partialText('delta_shares', t.delta_shares), 'partial: 1 of 2 positions have a delta');
});

test('greeks signs: long/short calls and puts, stock, multiplier', () => {
  const cases = [
    [OPT('C', 'Long', { delta: 0.4, theta: -0.05 }), 40, -5],
    [OPT('C', 'Short', { delta: 0.4, theta: -0.05 }), -40, 5],
    [OPT('P', 'Long', { delta: -0.3, theta: -0.04 }), -30, -4],
    [OPT('P', 'Short', { delta: -0.3, theta: -0.04 }), 30, 4],
    [OPT('C', 'Long', { delta: 0.4, theta: -0.05, qty: 3, mult: 10 }), 12, -1.5],
    [STOCK('Long', 100), 100, 0],
    [STOCK('Short', 50), -50, 0],
  ];
  for (const [p, shares, theta] of cases) {
    const t = totalsOf(single([p]));
    const what = `${p.direction} ${p.streamer_symbol} ×${p.quantity}×${p.multiplier}`;
    close(t.delta_shares.value, shares, `${what} delta`);
    close(t.delta_dollars.value, shares * 500, `${what} $delta (SPY mid 500)`);
    close(t.theta.value, theta, `${what} theta`);
    assert.equal(t.delta_shares.partial, false, what);
  }
  const { _greeks, ...call } = OPT('C', 'Short', { delta: 0.4, theta: -0.05 });
  close(positionTheta(call, new Map([[call.streamer_symbol, _greeks]])), 5, 'short call theta earns');
});

test('dollar delta of an option needs its underlying\'s live quote', () => {
  const state = single([OPT('C', 'Long', { delta: 0.5, theta: -0.1 })], { quotes: {} });
  const t = totalsOf(state);
  close(t.delta_shares.value, 50, 'shares');
  assert.equal(t.delta_dollars.value, null);
  assert.equal(t.delta_dollars.partial, true);
});

test('totals follow frames: a balance and a quote move them', () => {
  let state = load(FIXTURE);
  state = applyFrame(state, { type: 'balance', epoch: 'E1', seq: 5, account: 'VA0002', link: 2, balance: { net_liquidating_value: 1000, buying_power: 10 } });
  let usd = portfolioTotals(state).groups[0];
  close(usd.net_liq.value, 126000.5, 'net liq with the new balance');
  assert.equal(usd.net_liq.partial, false);
  close(usd.buying_power.value, 50010.25, 'bp');
  assert.equal(usd.buying_power.have, 2, 'alpaca sent null buying power');
  state = applyFrame(state, { type: 'quotes', quotes: { SPY: { bid: 501, ask: 501.2 } }, t: NOW + 1 });
  usd = portfolioTotals(state).groups[0];
  close(usd.day_pnl.value, 306 + 10, 'SPY up 1.00 on 10 shares');
});

test('stale inputs make a total stale: account data not live, old quotes, old greeks', () => {
  const state = load(FIXTURE);
  const fresh = portfolioTotals(state, NOW + 1000).groups[0];
  assert.equal(fresh.net_liq.stale, 1, "alpaca's account data is stale");
  assert.equal(fresh.day_pnl.stale, 1, 'the alpaca position counts as stale');
  assert.equal(staleText(fresh.net_liq), '1 of 2 accounts counted is stale');
  const later = portfolioTotals(state, NOW + 60_000).groups[0];
  assert.equal(later.day_pnl.stale, 4, 'every quote is a minute old');
  assert.equal(later.delta_shares.stale, 3, 'the options\' greeks are old, and the alpaca account');
  assert.equal(portfolioTotals(state).groups[0].net_liq.stale, 0, 'without a clock nothing is judged');
});
