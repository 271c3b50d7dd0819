// static/js/trading/ticket/roll.js and drafts.js fromRollRow: the roll picker's field, URL,
// row texts and refusals, and the ONE multi-leg ticket a row opens (docs/streaming-contract.md
// "The roll picker").
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  CHOICE_WORDS, DEFAULT_DELTA, candidatesUrl, deltaOf, failureText, netText, rowCells, statusText, strikesText,
} from '../../../../static/js/trading/ticket/roll.js';
import { fromRollRow, legName } from '../../../../static/js/trading/ticket/drafts.js';
import { strategyRollOffer } from '../../../../static/js/trading/ticket/offers.js';
import { orderBody } from '../../../../static/js/trading/ticket/body.js';

const FLAT = readFileSync(new URL('../../../../docs/streaming-contract.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');

/** An answer as the contract shapes it: a short SPY 580 put held in 5WT00001 (link 3). */
const leg = (symbol, action, strike, right, expiration, quantity = 1, mid = 1.0) => ({
  symbol, occ: '', action, quantity, strike, right, expiration, mid, delta: right === 'put' ? -0.3 : 0.3,
});
const POSITION = {
  account: '5WT00001', broker: 'tastytrade', link: 3, underlying: 'SPY', expiration: '2026-12-18',
  legs: [leg('.SPY261218P580', 'Buy to Close', 580, 'put', '2026-12-18', 2, 1.1)],
};
// a row's legs are the order's: the position's closed, then the new ones opened
const ROW = {
  expiration: '2027-01-15', choice: 'delta',
  legs: [...POSITION.legs, leg('.SPY270115P575', 'Sell to Open', 575, 'put', '2027-01-15', 2, 2.35)],
  net: 1.25, breakevens: [572.65], pop: 0.7449, pop_inputs: { price: 590.125, iv: 0.24, rate: 0.04, days: 45.27 },
  pop_note: null, days_added: 28, buying_power_effect: -1250, buying_power_note: null, stale: false,
};
const ANSWER = { position: POSITION, candidates: [ROW], notes: [], as_of: 1, delta: 0.3 };

test('the target delta: 0.30 to start, a number in 0.05–0.95, else a sentence', () => {
  assert.match(FLAT, /`delta` the target \(default 0\.30, the magnitude: a put's −0\.30 is 0\.30\)/);
  assert.equal(DEFAULT_DELTA, 0.3);
  assert.deepEqual(['0.30', '.3', '0.05', '0.95', ' 0.5 '].map((t) => deltaOf(t).delta), [0.3, 0.3, 0.05, 0.95, 0.5]);
  assert.equal(deltaOf('0.04').error, 'The target delta must be from 0.05 to 0.95: 0.04 is not.');
  assert.equal(deltaOf('1').error, 'The target delta must be from 0.05 to 0.95: 1 is not.');
  for (const bad of ['', '-0.3', 'abc', '0.3.1', '3e-1']) {
    assert.equal(deltaOf(bad).error, 'The target delta must be a number from 0.05 to 0.95, e.g. 0.30.', bad);
  }
});

test('the URL names the position or the strategy, its account and the delta', () => {
  assert.equal(candidatesUrl({ account: '5WT00001', symbol: '.SPY261218P580', delta: 0.3 }),
    '/api/roll/candidates?account=5WT00001&symbol=.SPY261218P580&delta=0.3');
  assert.equal(candidatesUrl({ account: 'VA 1', strategy: 'a1b2c3d4e5f6', delta: 0.45 }),
    '/api/roll/candidates?account=VA+1&strategy=a1b2c3d4e5f6&delta=0.45');
  assert.equal(candidatesUrl({ account: 'X', symbol: 'SPY   261218P00580000' }),
    '/api/roll/candidates?account=X&symbol=SPY+++261218P00580000&delta=0.3', 'OCC spaces encoded; the default delta');
});

test('a row reads as the contract says: choice, strikes, net at mid, break-evens, POP, days, buying power', () => {
  assert.match(FLAT, /\*\*row\*\*: `\{expiration, choice, legs: \[leg\], net, breakevens: \[number\], pop, pop_inputs, pop_note, days_added, buying_power_effect, buying_power_note, stale\}`/);
  assert.match(FLAT, /the choice \(`Same strikes`, `Target delta`, `Most credit`\)/);
  assert.deepEqual(CHOICE_WORDS, { same: 'Same strikes', delta: 'Target delta', credit: 'Most credit' });
  const c = rowCells(ROW);
  assert.deepEqual(
    [c.expiration, c.choice, c.strikes, c.net, c.stale, c.breakevens, c.pop, c.days, c.bp, c.bp_note],
    ['2027-01-15', 'Target delta', '2× 575 P', '1.25 credit', false, '572.65', '74%', '+28 d', '-1,250.00', false],
  );
  assert.equal(c.pop_title, 'price 590.13, IV 24.0%, rate 4.0%, 45.3 days', 'the /risk table\'s inputs');
  assert.equal(c.label, 'Roll to this: 2027-01-15, Target delta, 2× 575 P, 1.25 credit', 'the button\'s visible words first (axe: label-content-name-mismatch)');
  assert.deepEqual([netText(-0.4), netText(0), netText(0.004), netText(null), netText(1234.5)],
    ['0.40 debit', '0.00 even', '0.00 even', '—', '1,234.50 credit']);
  assert.equal(strikesText([
    { strike: 580, right: 'put', quantity: 1, action: 'Sell to Close' },
    { strike: 592.5, right: 'put', quantity: 1, action: 'Sell to Open' }, { strike: 587.5, right: 'call', quantity: 1, action: 'Buy to Open' },
  ]), '592.5 P / 587.5 C', 'the opened legs\' only');
});

test('a row without a quote, a stale one, one the broker previews nothing of: said, never as fresh', () => {
  const unknown = rowCells({
    ...ROW, net: null, breakevens: [], pop: null, pop_inputs: null,
    pop_note: 'No quote for SPY 15 Jan 27 575 P: its roll\'s net is unknown.', buying_power_effect: null,
    buying_power_note: 'Alpaca previews no order: its buying-power effect is known once it is placed.',
  });
  assert.deepEqual([unknown.net, unknown.breakevens, unknown.pop, unknown.pop_why, unknown.bp, unknown.bp_note], [
    '—', '—', '—', 'No quote for SPY 15 Jan 27 575 P: its roll\'s net is unknown.',
    'Alpaca previews no order: its buying-power effect is known once it is placed.', true,
  ]);
  const stale = rowCells({ ...ROW, stale: true });
  assert.deepEqual([stale.net, stale.stale, stale.stale_title], ['1.25 credit', true, 'A leg\'s quote is stale: this net may have moved.']);
  assert.equal(rowCells({ ...ROW, stale: true, net: null }).stale, false, 'no net: nothing to mark');
});

test('loading, refusals and an empty answer are sentences', () => {
  assert.equal(statusText(null, null), 'Loading roll candidates…');
  assert.equal(statusText(ANSWER, null), '');
  assert.equal(statusText({ ...ANSWER, candidates: [] }, null), 'No later expiration to roll to.');
  const refused = { error: 'No position in SPY 18 Dec 26 580 P in account X.', code: 'no_position' };
  assert.equal(statusText(null, failureText(404, refused)), refused.error);
  assert.equal(failureText(504, { code: 'timeout' }), 'The stream did not answer in time: try again.');
  assert.equal(failureText(0, null), 'The server cannot be reached: the roll candidates could not be read.');
  assert.equal(failureText(500, null), 'The roll candidates could not be read (HTTP 500): try again.');
});

test('a row opens ONE ticket of the order\'s legs: the position\'s closed, the new ones opened, at the net per unit', () => {
  assert.match(FLAT, /a row's `legs` are the order's: those same closing legs, then the legs it opens/);
  const d = fromRollRow(ANSWER, ROW, 'SPY 18 Dec 26 580 P');
  assert.deepEqual(d.legs, [
    { symbol: '.SPY261218P580', action: 'Buy to Close', quantity: 2 },
    { symbol: '.SPY270115P575', action: 'Sell to Open', quantity: 2 },
  ]);
  assert.deepEqual([d.title, d.account, d.accountFixed, d.order_type, d.price, d.time_in_force],
    ['Roll SPY 18 Dec 26 580 P to 2027-01-15', { link: 3, account: '5WT00001' }, true, 'Limit', '1.25', 'Day']);
  assert.equal(legName(d, '.SPY270115P575'), 'SPY 15 Jan 27 575 P');
  // a debit is the same positive price (the legs say which); none where it is unknown or even
  assert.equal(fromRollRow(ANSWER, { ...ROW, net: -0.4 }, 'x').price, '0.40');
  assert.equal(fromRollRow(ANSWER, { ...ROW, net: null }, 'x').price, null);
  assert.equal(fromRollRow(ANSWER, { ...ROW, net: 0 }, 'x').price, null);
  // the preview's body: one order of every leg, the net price
  const body = orderBody({
    account: d.account, legs: d.legs, order_type: d.order_type, price: d.price, stop_price: '', trail: null,
    time_in_force: d.time_in_force, replaces: null, places: 0,
  }).body;
  assert.deepEqual([body.legs.length, body.price, body.order_type], [2, '1.25', 'Limit']);
});

test('a vertical\'s roll: both legs closed, both opened, in the order the contract lists them', () => {
  const position = {
    ...POSITION, legs: [
      leg('.SPY261218P580', 'Buy to Close', 580, 'put', '2026-12-18'),
      leg('.SPY261218P575', 'Sell to Close', 575, 'put', '2026-12-18'),
    ],
  };
  const row = {
    ...ROW, choice: 'credit', net: 0.37, legs: [
      leg('.SPY270115P570', 'Sell to Open', 570, 'put', '2027-01-15'),
      leg('.SPY270115P565', 'Buy to Open', 565, 'put', '2027-01-15'),
    ],
  };
  const d = fromRollRow({ ...ANSWER, position }, { ...row, legs: [...position.legs, ...row.legs] }, 'put credit vertical SPY (5WT00001)');
  assert.deepEqual(d.legs.map((l) => `${l.action} ${l.quantity} ${l.symbol}`), [
    'Buy to Close 1 .SPY261218P580', 'Sell to Close 1 .SPY261218P575', 'Sell to Open 1 .SPY270115P570', 'Buy to Open 1 .SPY270115P565',
  ]);
  assert.equal(d.price, '0.37');
  assert.equal(rowCells(row).strikes, '570 P / 565 P');
});

test('a strategy\'s Roll…: twice its option legs in one order, where the broker takes that many', () => {
  const opt = (symbol, kind, quantity) => ({ symbol, kind, quantity, strike: 1, expiration: '2026-12-18' });
  const vertical = { legs: [opt('A', 'put', -1), opt('B', 'put', 1)] };
  const condor = { legs: [opt('A', 'put', -1), opt('B', 'put', 1), opt('C', 'call', -1), opt('D', 'call', 1)] };
  const stock = { legs: [{ symbol: 'SPY', kind: 'stock', quantity: 100 }] };
  assert.deepEqual(strategyRollOffer(vertical, 'tastytrade'), { offered: true, why: null });
  assert.deepEqual(strategyRollOffer(vertical, 'tradier'), { offered: true, why: null });
  assert.deepEqual(strategyRollOffer(vertical, 'alpaca'), { offered: false, why: 'Alpaca takes no multi-leg orders: a roll is one order of two expirations.' });
  assert.deepEqual(strategyRollOffer(condor, 'tastytrade'), { offered: false, why: 'A roll of its 4 option legs is 8 legs in one order; tastytrade takes at most 4.' });
  assert.deepEqual(strategyRollOffer(stock, 'tastytrade'), { offered: false, why: null }, 'stock alone: nothing to roll');
  assert.deepEqual(strategyRollOffer(vertical, ''), { offered: false, why: 'The account\'s broker is not known yet.' });
});
