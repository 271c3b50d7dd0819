// static/js/stream/order-terms.js: an order's terms as the broker holds them
// (docs/streaming-contract.md, "Objects": order).
import test from 'node:test';
import assert from 'node:assert/strict';

import { fillText, groupText, legFilledText, legText, orderTerms } from '../../static/js/stream/order-terms.js';

const order = (fields) => ({
  order_type: 'Market', price: null, price_effect: null, stop_price: null, trail: null, notional: null,
  time_in_force: 'Day', good_till: null, extended_hours: false, group: null, unsupported: null, ...fields,
});

test('a limit, a stop and a stop limit show their prices; a stop\'s trigger follows its type\'s name, the word once', () => {
  assert.equal(orderTerms(order({ order_type: 'Limit', price: 1.25, price_effect: 'Debit' })), 'Limit 1.25 Debit Day');
  assert.equal(orderTerms(order({ order_type: 'Stop', stop_price: 390.6, time_in_force: 'GTC' })), 'Stop 390.60 GTC');
  assert.equal(
    orderTerms(order({ order_type: 'Stop Limit', price: 390, price_effect: 'Credit', stop_price: 390.6, time_in_force: 'GTC' })),
    'Stop 390.60, limit 390.00 Credit GTC');
  // a stop the broker sent without its trigger is named by its type; an unknown type's stop by its word
  assert.equal(orderTerms(order({ order_type: 'Stop' })), 'Stop Day');
  const unknown = { kind: 'order_type', name: 'pegged', fields: {} };
  assert.equal(orderTerms(order({ order_type: 'Unsupported', stop_price: 5, unsupported: unknown })), 'unsupported: pegged stop 5.00 Day');
});

test('a trailing stop shows where its stop stands, its trail and its high', () => {
  const pct = order({ order_type: 'Trailing Stop', stop_price: 97.5, trail: { amount: null, percent: 2.5, high_water_mark: 100 } });
  assert.equal(orderTerms(pct), 'Trailing Stop 97.50 trail 2.5% · high 100.00 Day');
  const dollars = order({ order_type: 'Trailing Stop', stop_price: null, trail: { amount: 0.5, percent: null, high_water_mark: null } });
  assert.equal(orderTerms(dollars), 'Trailing Stop trail $0.50 Day');
});

test('a dollar order shows its amount; GTD its date; extended hours are said', () => {
  assert.equal(orderTerms(order({ order_type: 'Notional Market', notional: 500, time_in_force: 'IOC' })), 'Notional Market $500.00 IOC');
  assert.equal(orderTerms(order({ order_type: 'Limit', price: 12, time_in_force: 'GTD', good_till: '2026-12-31' })), 'Limit 12.00 GTD 2026-12-31');
  assert.equal(orderTerms(order({ order_type: 'Limit', price: 12, extended_hours: true })), 'Limit 12.00 Day ext hours');
  assert.equal(orderTerms(order({ order_type: 'Limit', price: 12, time_in_force: 'Post', extended_hours: true })), 'Limit 12.00 Post');
});

test('what the app does not know is said in the broker\'s words, never as another type', () => {
  const u = { kind: 'order_type', name: 'pegged', fields: { type: 'pegged' } };
  assert.equal(orderTerms(order({ order_type: 'Unsupported', unsupported: u })), 'unsupported: pegged Day');
  const tif = { kind: 'time_in_force', name: 'gtx', fields: {} };
  assert.equal(orderTerms(order({ time_in_force: 'Unsupported', unsupported: tif })), 'unsupported: gtx Market');
});

test('a member of a linked order names its link by what it holds (never its raw id) and its role', () => {
  const member = (group) => order({ underlying: 'SPY', group });
  assert.equal(groupText(member({ id: '7', class: 'otoco', role: 'stop_loss' }), 3), 'OTOCO on SPY: 3 orders · stop loss');
  assert.equal(groupText(member({ id: '5fd5eadc-1', class: 'bracket', role: 'trigger' }), 3), 'Bracket on SPY: 3 orders · entry');
  assert.equal(groupText(member({ id: '9', class: 'oco', role: 'take_profit' }), 1), 'OCO on SPY: 1 order · take profit');
  assert.equal(groupText(order({ underlying: 'BTC/USD:CXTALP', group: { id: '9', class: 'oto', role: 'member' } })), 'OTO on BTC/USD · member');
  assert.equal(groupText(order({})), null);
});

test('a leg says its side, its exact quantity and its symbol; no quantity is left out, never 0', () => {
  const leg = (fields) => ({ symbol: 'AAPL', action: 'buy', quantity: 100, remaining_quantity: 100, fills: [], ...fields });
  assert.equal(legText(leg({})), 'buy 100 AAPL');
  assert.equal(legText(leg({ quantity: 0.001, symbol: 'BTC/USD' })), 'buy 0.001 BTC/USD');
  assert.equal(legText(leg({ quantity: 1500 })), 'buy 1,500 AAPL');
  assert.equal(legText(leg({ quantity: null, remaining_quantity: null })), 'buy AAPL');
});

test('what filled is counted from the fills: an order that ended unfilled filled nothing', () => {
  const fill = (quantity, price) => ({ id: `x:${quantity}`, quantity, price, at: 1 });
  const leg = (fields) => ({ symbol: 'AAPL', action: 'buy', quantity: 100, remaining_quantity: 100, fills: [], ...fields });
  assert.equal(legFilledText(leg({ remaining_quantity: 0 })), null); // expired: nothing left, nothing filled
  assert.equal(legFilledText(leg({ remaining_quantity: 40, fills: [fill(60, 190.25)] })), '60/100 filled');
  assert.equal(legFilledText(leg({ quantity: null, remaining_quantity: null, fills: [fill(0.5, 190)] })), '0.5 filled');
  assert.equal(fillText(fill(60, 190.25)), 'filled 60 @ 190.25');
  assert.equal(fillText(fill(0.001, 3.345)), 'filled 0.001 @ 3.345');
});
