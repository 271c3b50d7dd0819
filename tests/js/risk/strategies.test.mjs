// The strategies list's rows (static/js/risk/strategy-rows.js): the same texts the server
// renders at load (tests/streaming/test_risk_page_rows.py has the same cases), and the
// positions key that decides when the list is asked again. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { halfUp, inputsText, oddsCells, percent, positionsKey, strategyCells } from '../../../static/js/risk/strategy-rows.js';
import { fmtNumber } from '../../../static/js/stream/format.js';

test('a long call as the server writes it', () => {
  const c = strategyCells({
    name: 'long call', family: 'single', underlying: 'SPY', account: 'A1',
    legs: [{ symbol: 'SPY   261218C00600000', kind: 'call', strike: 600, expiration: '2026-12-18', quantity: 2 }],
    expirations: ['2026-12-18'], quantity: 2, greeks: { delta: 100, gamma: 0.02, theta: null, vega: null },
    net: -2500, net_kind: 'debit', max_profit: 'unlimited', max_loss: 2500, breakevens: [612.5],
    probability_of_profit: 0.3412, pop_inputs: { price: 600, iv: 0.2, rate: 0.04, days: 30 }, pop_note: null,
    p50: null, p50_note: 'Its profit is unlimited: there is no 50 % of it to reach.', touch: {},
  });
  const inputs = 'price 600.00, IV 20.0%, rate 4.0%, 30.0 days';
  const unlimited = 'Its profit is unlimited: there is no 50 % of it to reach.';
  assert.deepEqual(c, {
    name: 'long call', underlying: 'SPY', account: 'A1', legs: '+2 SPY   261218C00600000', expirations: '2026-12-18',
    delta: '+100.0', theta: '—', vega: '—', net: '2,500.00 debit', max_profit: 'unlimited', max_loss: '2,500.00', breakevens: '612.50',
    pop: '34%', pop_title: inputs, pop_why: '', p50: '—', p50_title: unlimited, p50_why: unlimited,
  });
});

test('the odds: whole percentages, the inputs in the title', () => {
  const c = strategyCells({
    name: 'put credit vertical', underlying: 'SPY', account: 'A1', legs: [], greeks: {},
    probability_of_profit: 0.7412, pop_inputs: { price: 590.12, iv: 0.24, rate: 0.04, days: 45.312345 }, pop_note: null,
    p50: 0.5, p50_note: null, touch: { 580: 0.41 },
  });
  const inputs = 'price 590.12, IV 24.0%, rate 4.0%, 45.3 days';
  assert.deepEqual([c.pop, c.pop_title, c.pop_why, c.p50, c.p50_title, c.p50_why], ['74%', inputs, '', '50%', inputs, '']);
});

test('no odds: "—" with the note as the title and for a screen reader', () => {
  const note = 'Its legs expire on different days: POP is for one expiration.';
  const c = strategyCells({
    name: 'call calendar', underlying: 'SPY', account: 'A1', legs: [], greeks: {},
    probability_of_profit: null, pop_inputs: null, pop_note: note, p50: null, p50_note: note, touch: null,
  });
  assert.deepEqual(oddsCells({ probability_of_profit: null, pop_inputs: null, pop_note: note, p50: null, p50_note: note }),
    { pop: '—', pop_title: note, pop_why: note, p50: '—', p50_title: note, p50_why: note });
  assert.deepEqual([c.pop, c.pop_title, c.pop_why, c.p50, c.p50_why], ['—', note, note, '—', note]);
});

test('a tie rounds up, as the server rounds (Python formats half to even)', () => {
  assert.deepEqual([halfUp(590.125, 2), halfUp(45.25, 1), halfUp(1234.5, 0)], ['590.13', '45.3', '1,235']);
  assert.deepEqual([percent(0.745), percent(0), percent(1), percent(0.00499)], ['75%', '0%', '100%', '0%']);
  assert.equal(inputsText({ price: 1234.5, iv: 0.2455, rate: 0.0425, days: 0.04 }), 'price 1,234.50, IV 24.6%, rate 4.3%, 0.0 days');
});

test('short stock without a cost: "—" where undefined, never a made-up number', () => {
  const c = strategyCells({
    name: 'short stock', underlying: 'SPY', account: 'B2', legs: [{ symbol: 'SPY', quantity: -5 }],
    expirations: [], greeks: { delta: -5, theta: 0, vega: 0 }, net: null, net_kind: null,
    max_profit: null, max_loss: 'unlimited', breakevens: null,
  });
  assert.deepEqual([c.legs, c.expirations, c.delta, c.theta, c.net, c.max_profit, c.max_loss, c.breakevens],
    ['-5 SPY', '—', '-5.0', '+0.00', '—', '—', 'unlimited', '—']);
});

test('numbers: grouping, sign, no negative zero, half a contract', () => {
  assert.equal(fmtNumber(1234.5, 1, true), '+1,234.5');
  assert.equal(fmtNumber(-0.001, 2, true), '+0.00');
  assert.equal(fmtNumber(-0.001, 2), '0.00');
  assert.equal(fmtNumber(-1234.567), '-1,234.57');
  assert.equal(fmtNumber(null), '—');
  assert.equal(strategyCells({ legs: [{ symbol: 'X', quantity: 0.5 }], greeks: {} }).legs, '+0.5 X');
});

test('the positions key: changes with a fill, not with order or balances', () => {
  const acct = (number, positions) => ({ number, balance: {}, positions: new Map(positions.map((p) => [p.symbol, p])) });
  const spy = { symbol: 'SPY', quantity: '10', direction: 'Long', average_open_price: '590' };
  const call = { symbol: 'SPY   261218C00600000', quantity: '2', direction: 'Long', average_open_price: '12.5' };
  const a = positionsKey(new Map([['A1', acct('A1', [spy, call])]]));
  assert.equal(positionsKey(new Map([['A1', acct('A1', [call, spy])]])), a);
  assert.notEqual(positionsKey(new Map([['A1', acct('A1', [spy, { ...call, quantity: '3' }])]])), a);
  assert.notEqual(positionsKey(new Map([['A1', acct('A1', [spy])]])), a);
  assert.notEqual(positionsKey(new Map([['B2', acct('B2', [spy, call])]])), a);
});

test('legs by display name, exact quantities; the underlying by its display', () => {
  const c = strategyCells({
    name: 'long call', underlying: 'SPY', display: 'SPY', account: 'A1', greeks: {},
    legs: [{ symbol: 'SPY270115C00590000', display: 'SPY 15 Jan 27 590 C', quantity: 1000 },
      { symbol: 'AAPL', display: 'AAPL', quantity: 0.123456789 }, { symbol: 'X', quantity: 1e-7 }],
  });
  assert.equal(c.legs, '+1,000 SPY 15 Jan 27 590 C, +0.123456789 AAPL, +0.0000001 X');
  assert.equal(c.underlying, 'SPY');
  assert.equal(strategyCells({ underlying: '/ESZ26:XCME', display: '/ES Dec 26', legs: [], greeks: {} }).underlying, '/ES Dec 26');
});

test('a fill before the page\'s module loaded: its first state is compared with the rows the server rendered', async () => {
  // The risk module is imported after the page loads; a fill may reach the stream's state
  // first. The rows on the page are the page's snapshot's: that is what the state's
  // positions are compared with, so the rows and the list are asked again at once.
  globalThis.window ??= { matchMedia: () => ({ matches: false }) }; // render/dom.js reads it at import
  const { createStrategiesList } = await import('../../../static/js/risk/strategies.js');
  const acct = (number, positions) => ({ number, balance: {}, positions: new Map(positions.map((p) => [p.symbol, p])) });
  const spy = { symbol: 'SPY', quantity: '10', direction: 'Long', average_open_price: '590' };
  const ko = { symbol: 'KO', quantity: '7', direction: 'Long', average_open_price: '70' };
  const asked = [];
  const doc = { getElementById: () => null, querySelector: () => null, addEventListener() {} };
  const env = {
    fetch: async (url) => { asked.push(url); return { ok: false }; },
    now: () => 0, setTimeout: () => 0, clearTimeout() {},
    pageUrl: () => '/risk?u=SPY', trading: false,
  };
  const rendered = new Map([['A1', acct('A1', [spy])]]);
  const list = createStrategiesList(doc, { ...env, pageAccounts: rendered });
  list.render({ accounts: new Map([['A1', acct('A1', [spy, ko])]]) });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(asked.sort(), ['/api/risk/strategies', '/risk?u=SPY']);
  // the same positions as the page's: nothing to ask
  asked.length = 0;
  const same = createStrategiesList(doc, { ...env, pageAccounts: rendered });
  same.render({ accounts: new Map([['A1', acct('A1', [spy])]]) });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(asked, []);
});
