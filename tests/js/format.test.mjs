// What the dashboard shows (static/js/stream/format.js): number text, ages, marks, P&L.
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  DASH, accountPnl, accountView, asOfText, errorText, fmt, fmtAge, isOption, markOf, markView, positionDelta,
  positionPnl, quoteWhy, rejectionText, symbolLabel,
  setTimeZone, timeZone,
} from '../../static/js/stream/format.js';

const NOW = 1_760_000_000_000;
const quotes = (obj) => new Map(Object.entries(obj));
const pos = (extra = {}) => ({
  symbol: 'SPY', streamer_symbol: 'SPY', instrument_type: 'Equity', quantity: 10, direction: 'Long',
  average_open_price: 490, close_price: 495, mark_price: 494, multiplier: 1, ...extra,
});

test('null is never shown as 0: every formatter gives "—"', () => {
  for (const [name, f] of Object.entries(fmt)) {
    if (['time', 'hm', 'when', 'whenHm', 'full'].includes(name)) { // a time nobody sent: nothing
      assert.equal(f(null, 0), '', name);
      continue;
    }
    assert.equal(f(null, 2), DASH, name);
    assert.equal(f(undefined, 2), DASH, name);
  }
  assert.equal(fmt.time(null), '');
  assert.equal(fmtAge(null), DASH);
  assert.notEqual(fmt.money(0), DASH, 'a real zero is a number');
  assert.equal(fmt.money(0), '0.00');
});

test('numbers in en-US', () => {
  assert.equal(fmt.money(104523.17), '104,523.17');
  assert.equal(fmt.pnl(1000), '+1,000.00');
  assert.equal(fmt.pnl(-12.5), '-12.50');
  assert.equal(fmt.pnl(0), '0.00');
  assert.equal(fmt.price(501.255), '501.26');
  assert.equal(fmt.price(1.23456), '1.2346', 'four digits below 10');
  assert.equal(fmt.change(0.1234), '+0.1234');
  assert.equal(fmt.change(-2.5), '-2.50');
  assert.equal(fmt.qty(-2), '-2');
  assert.equal(fmt.qty(0.12345), '0.12345', 'a quantity keeps its places');
  assert.equal(fmt.qty(2.61937), '2.61937', "Alpaca's documented BTC position");
  assert.equal(fmt.qty(0.123456789), '0.123456789', "Alpaca's 9 places");
  assert.equal(fmt.qty(1 / 3), '0.333333333', 'a double is cut at 9 places');
  assert.equal(fmt.qty(1000), '1,000');
  assert.equal(fmt.amount(1234.5678), '1,234.57');
  assert.equal(fmt.delta(52.25), '+52.3');
  assert.equal(fmt.greek(0.5, 3), '0.500');
  assert.equal(fmt.greek(-0.0004, 3), '0.000', 'never -0.000');
  assert.equal(fmt.greek(-0.0005, 3), '-0.001');
  assert.equal(fmt.greek(-0, 4), '0.0000');
  assert.equal(fmt.pct(0.2345), '23.5%');
  assert.equal(fmt.volume(99999), '99,999');
  assert.equal(fmt.volume(123456789), '123.5M');
});

test('with no zone chosen, times are New York\'s (the market\'s clock), named, whatever the browser\'s zone', () => {
  const t = Date.UTC(2026, 2, 3, 19, 2, 11); // 14:02:11 in New York, 19:02:11 in this UTC box
  setTimeZone('');
  assert.equal(timeZone(), 'America/New_York');
  assert.equal(fmt.time(t), '14:02:11 EST');
  assert.equal(fmt.when(t, t + 2 * 86_400_000), 'Mar 3, 14:02:11 EST');
  assert.equal(asOfText(t, t + 60_000), 'as of 14:02:11 EST', 'a stale note names the zone');
});

test('times and ages', () => {
  const t = Date.UTC(2026, 2, 3, 19, 2, 11); // 14:02:11 in New York
  setTimeZone('America/New_York');
  assert.equal(fmt.time(t), '14:02:11 EST', 'in the trader\'s zone, labelled');
  assert.equal(fmt.hm(t), '14:02 EST');
  assert.equal(asOfText(t, t + 60_000), 'as of 14:02:11 EST');
  assert.equal(asOfText(t, t + 2 * 86_400_000), 'as of Mar 3, 14:02:11 EST');
  assert.equal(asOfText(null, t), 'not confirmed yet');
  assert.equal(fmt.time(Date.UTC(2026, 6, 3, 18, 2, 11)), '14:02:11 EDT', 'summer time');
  setTimeZone('Asia/Kolkata');
  assert.equal(fmt.time(t), '00:32:11 GMT+5:30', 'whole minutes, not hours');
  assert.equal(fmt.when(t, t), '00:32:11 GMT+5:30');
  assert.equal(fmt.when(t, t - 3_600_000), 'Mar 4, 00:32:11 GMT+5:30', 'another day there');
  setTimeZone('Not/AZone');
  assert.equal(timeZone(), 'America/New_York', 'an unknown zone: the market\'s clock');
  setTimeZone('');
  assert.equal(fmtAge(400), '0.4 s');
  assert.equal(fmtAge(12_000), '12 s');
  assert.equal(fmtAge(180_000), '3 min');
  assert.equal(fmtAge(3 * 3_600_000), '3 h');
});

test('the mark: the live mid, else the last, else the broker\'s mark', () => {
  assert.deepEqual(markOf(pos(), quotes({ SPY: { bid: 500, ask: 501 } })).mark, 500.5);
  assert.equal(markOf(pos(), quotes({ SPY: { bid: 500, ask: 501 } })).live, true);
  assert.equal(markOf(pos(), quotes({ SPY: { bid: 500, ask: null, last: 499 } })).mark, 499);
  assert.deepEqual(markOf(pos(), quotes({})), { mark: 494, live: false, quote: null });
  assert.equal(markOf(pos({ mark_price: null }), quotes({ SPY: { bid: null, ask: null, last: null } })).mark, null);
  // valued by its streamer symbol
  const opt = pos({ symbol: 'SPY   260320P00570000', streamer_symbol: '.SPY260320P570', instrument_type: 'Equity Option' });
  assert.equal(markOf(opt, quotes({ '.SPY260320P570': { bid: 2, ask: 3 } })).mark, 2.5);
});

test('P&L: long, short, multiplier; missing inputs give null, never 0', () => {
  const live = quotes({ SPY: { bid: 500, ask: 502 } }); // mark 501
  assert.deepEqual(positionPnl(pos(), live), { qty: 10, avg: 490, mark: 501, live: true, open: 110, day: 60 });
  const short = positionPnl(pos({ direction: 'Short', quantity: 2, multiplier: 100 }), live);
  assert.equal(short.qty, -2);
  assert.equal(short.open, (501 - 490) * 2 * 100 * -1);
  assert.equal(short.day, (501 - 495) * 2 * 100 * -1);
  const noAvg = positionPnl(pos({ average_open_price: null }), live);
  assert.equal(noAvg.open, null);
  assert.equal(noAvg.day, 60);
  const noMark = positionPnl(pos({ mark_price: null }), quotes({}));
  assert.equal(noMark.open, null);
  assert.equal(noMark.day, null);
  assert.equal(fmt.pnl(noMark.open), DASH);
  assert.equal(positionPnl(pos({ quantity: null }), live).qty, null);
});

test('account totals: partial sums are flagged, no value is null, no positions is 0', () => {
  const live = quotes({ SPY: { bid: 500, ask: 502 }, QQQ: { bid: 400, ask: 400 } });
  const qqq = pos({ symbol: 'QQQ', streamer_symbol: 'QQQ', average_open_price: 390, close_price: 395 });
  assert.deepEqual(accountPnl([pos(), qqq], live), { open: 110 + 100, day: 60 + 50, missing: false });
  const noMark = pos({ symbol: 'X', streamer_symbol: 'X', mark_price: null });
  assert.deepEqual(accountPnl([pos(), noMark], live), { open: 110, day: 60, missing: true });
  assert.deepEqual(accountPnl([noMark], live), { open: null, day: null, missing: true });
  assert.deepEqual(accountPnl([], live), { open: 0, day: 0, missing: false });
});

test('position delta: options from greeks, shares count one each', () => {
  const greeks = new Map([['.SPY260320P570', { delta: -0.25 }]]);
  const opt = pos({ symbol: 'SPY   260320P00570000', streamer_symbol: '.SPY260320P570', instrument_type: 'Equity Option', quantity: 2, multiplier: 100 });
  assert.equal(isOption(opt), true);
  assert.equal(positionDelta(opt, greeks), -50);
  assert.equal(positionDelta({ ...opt, direction: 'Short' }, greeks), 50);
  assert.equal(positionDelta(opt, new Map()), null, 'no greeks yet: no delta');
  assert.equal(positionDelta(pos(), greeks), 10);
  assert.equal(positionDelta(pos({ instrument_type: 'Future' }), greeks), null);
});

test('symbol labels', () => {
  // the display name over the kind (docs/streaming-contract.md "Instruments"): the server's, else the instrument's
  assert.deepEqual(symbolLabel({ symbol: 'SPY   260320P00570000', streamer_symbol: '.SPY260320P570', instrument_type: 'Equity Option' }), { main: 'SPY 20 Mar 26 570 P', sub: 'Equity Option' });
  assert.deepEqual(symbolLabel({ symbol: 'SPY', streamer_symbol: 'SPY', instrument_type: 'Equity' }), { main: 'SPY', sub: 'Equity' });
  assert.deepEqual(symbolLabel({ symbol: 'BTCUSD', streamer_symbol: 'BTC/USD:CXTALP', display: 'BTC/USD', instrument_type: 'Cryptocurrency' }), { main: 'BTC/USD', sub: 'Cryptocurrency' });
  assert.deepEqual(symbolLabel({ symbol: './ESZ6 ESZ6 261218C6000', streamer_symbol: './ESZ26C6000:XCME', instrument_type: 'Future Option' }).main, '/ES Dec 26 6000 C');
  assert.deepEqual(symbolLabel({ symbol: 'BTCUSD', instrument_type: 'crypto' }).main, 'BTC/USD', 'Alpaca\'s coin, named without the server');
  assert.deepEqual(symbolLabel({ symbol: 'X', streamer_symbol: '.X261399C5' }), { main: 'X', sub: '' }, 'month 13 is no date: the broker\'s symbol');
});

test('why a value is stale, in words', () => {
  const fresh = quotes({ SPY: { bid: 500, ask: 501, t: NOW - 2_000 } });
  assert.deepEqual(markView(pos(), fresh, NOW, 10_000), { stale: false, delayed: false, why: 'quote 2.0 s old' });
  const old = quotes({ SPY: { bid: 500, ask: 501, t: NOW - 21_000, delayed: true } });
  assert.deepEqual(markView(pos(), old, NOW, 10_000), { stale: true, delayed: true, why: 'DELAYED quote, quote 21 s old (stale: older than 10 s)' });
  assert.equal(markView(pos(), quotes({}), NOW, 10_000).why, 'no live quote: the broker\'s mark');
  assert.equal(markView(pos({ mark_price: null }), quotes({}), NOW, 10_000).stale, false, 'nothing shown, nothing stale');
  assert.equal(quoteWhy(undefined, NOW, 10_000), 'no quote yet');
  assert.equal(quoteWhy({ t: NOW - 12_000 }, NOW, 10_000), 'quote 12 s old (stale: older than 10 s)');
  assert.equal(quoteWhy({}, NOW, 10_000), 'quote time unknown (stale: time unknown)');
  // a value that names its feed: judged by the feed, not by its age
  const feed = { staleMs: 10_000, src: '1:2', live: true };
  assert.equal(quoteWhy({ t: NOW - 3_600_000, src: '1:2' }, NOW, feed), 'quote 60 min old', 'a quiet symbol on a live feed');
  assert.equal(quoteWhy({ t: NOW - 1_000, src: '1:1' }, NOW, feed), 'quote 1.0 s old (stale: from an earlier feed)');
  assert.equal(quoteWhy({ t: NOW - 1_000, src: '1:2' }, NOW, { ...feed, live: false }), 'quote 1.0 s old (stale: market data not live)');
  assert.deepEqual(markView(pos(), quotes({ SPY: { bid: 500, ask: 501, t: NOW - 2_000, src: '2:5' } }), NOW, feed),
    { stale: true, delayed: false, why: 'quote 2.0 s old (stale: from an earlier feed)' });
  const t = new Date(2026, 2, 3, 14, 2, 11).getTime();
  const stale = { state: 'live', kinds: { quotes: { state: 'live' }, account: { state: 'stale', reason: 'no heartbeat', last_ok: t } } };
  assert.deepEqual(accountView(stale, t + 1000), { live: false, state: 'stale', asOf: t, why: `account data stale (no heartbeat), as of ${fmt.time(t)}` });
  assert.equal(accountView(null, t).live, true, 'an account without a known link is not marked');
});

test('what the server refused, in words', () => {
  assert.equal(rejectionText('BAD', 'invalid_symbol'), 'BAD: not a valid symbol');
  assert.equal(rejectionText('X', 'user_limit_reached'), 'X: your symbol limit is reached');
  assert.equal(rejectionText('X', 'something_new'), 'X: something_new');
  assert.equal(errorText({ code: 'rate_limited', message: 'slow down', ref: 'subscribe' }), 'Server refused a request (subscribe): slow down');
  assert.equal(errorText({ code: 'too_large' }), 'Server refused a request: too_large');
});
