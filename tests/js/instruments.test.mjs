// static/js/stream/instruments.js: any spelling → one instrument, its display name, tick and
// multiplier, and what each broker takes of each kind (docs/streaming-contract.md
// "Instruments", "The order"). The server's equal answers: tests/streaming/test_instrument_rules_agree.py.
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  KIND, brokerTakes, displayOf, fromPosition, kindOf, parse, refusal, rulesTable,
} from '../../static/js/stream/instruments.js';

const pick = (it) => it && { kind: it.kind, symbol: it.symbol, underlying: it.underlying, display: it.display, multiplier: it.multiplier };

test('every kind by its contract symbol, with its display name and multiplier', () => {
  assert.deepEqual(pick(parse('AAPL')), { kind: KIND.EQUITY, symbol: 'AAPL', underlying: 'AAPL', display: 'AAPL', multiplier: 1 });
  assert.deepEqual(pick(parse('.SPY270115C590')), { kind: KIND.EQUITY_OPTION, symbol: '.SPY270115C590', underlying: 'SPY', display: 'SPY 15 Jan 27 590 C', multiplier: 100 });
  assert.deepEqual(pick(parse('/ESZ26:XCME')), { kind: KIND.FUTURE, symbol: '/ESZ26:XCME', underlying: '/ESZ26:XCME', display: '/ES Dec 26', multiplier: 50 });
  assert.deepEqual(pick(parse('./ESZ26C6000:XCME')), { kind: KIND.FUTURE_OPTION, symbol: './ESZ26C6000:XCME', underlying: '/ESZ26:XCME', display: '/ES Dec 26 6000 C', multiplier: 50 });
  assert.deepEqual(pick(parse('BTC/USD:CXTALP')), { kind: KIND.CRYPTO, symbol: 'BTC/USD:CXTALP', underlying: 'BTC/USD:CXTALP', display: 'BTC/USD', multiplier: 1 });
});

test('every spelling of one instrument is the same instrument', () => {
  for (const s of ['BTC/USD', 'btc/usd', ' BTC/USD:CXTALP ']) assert.equal(parse(s).symbol, 'BTC/USD:CXTALP', s);
  for (const s of ['/ESZ6', '/ESZ26', '/esz26:xcme']) assert.equal(parse(s, 2026).symbol, '/ESZ26:XCME', s);
  assert.equal(parse('/ESZ6', 2027).symbol, '/ESZ26:XCME', 'a one-digit year from last year on');
  assert.equal(parse('/ESZ6', 2028).symbol, '/ESZ36:XCME');
  assert.equal(parse('./ESZ6 ESZ6 261218C6000').symbol, './ESZ26C6000:XCME');
  assert.equal(parse('SPY   270115C00590000').symbol, '.SPY270115C590');
  assert.equal(parse('SPY270115C00572500').symbol, '.SPY270115C572.5');
  // a weekly's REST symbol says its own expiration, and names its future
  const weekly = parse('./ESU6 EW3U6 260918P9100');
  assert.deepEqual([weekly.symbol, weekly.underlying, weekly.display], ['./EW3U26P9100:XCME', '/ESU26:XCME', '/ES Sep 26 9100 P 18 Sep']);
  // BTCUSD is a ticker by its spelling alone
  assert.equal(parse('BTCUSD').kind, KIND.EQUITY);
  assert.equal(displayOf('btc/usd'), 'BTC/USD');
  assert.equal(displayOf('bond 123'), 'bond 123', 'what names nothing shows as it came');
  for (const bad of ['', 'BTC/EUR', 'BTC/USD:XNAS', '/XXZ6', './ESZ26C0:XCME', '.SPY271315C590', 'SPY١', 'X'.repeat(33), null, 5]) {
    assert.equal(parse(bad), null, String(bad));
  }
});

test('the tick grid is each instrument\'s own', () => {
  const es = parse('/ESZ26:XCME');
  assert.equal(es.tick(6000), '0.25');
  const call = parse('./ESZ26C6000:XCME');
  assert.deepEqual([call.tick(4.95), call.tick(5), call.tick(46.8)], ['0.05', '0.25', '0.25']);
  const coin = parse('BTC/USD');
  assert.deepEqual([coin.tick(95000), coin.tick(0.5)], ['0.01', '0.0001']);
  assert.deepEqual([parse('.AAPL270115C200').tick(2.99), parse('.AAPL270115C200').tick(3)], ['0.01', '0.05']);
  assert.equal(parse('.SPY270115C590').tick(12.5), '0.01');
  assert.equal(parse('/ZNZ26:XCBT').tick(110), '0.015625');
  assert.equal(parse('/XXZ26:XCME').tick(1), null, 'an unlisted product: its tick is not known here');
});

test('a position is the instrument it holds: Alpaca\'s BTCUSD is the coin, not a ticker', () => {
  const coin = fromPosition({ symbol: 'BTCUSD', instrument_type: 'crypto', quantity: 0.25 });
  assert.deepEqual(pick(coin), pick(parse('BTC/USD')));
  const es = fromPosition({ symbol: './ESZ6 ESZ6 261218C6000', streamer_symbol: './ESZ26C6000:XCME', underlying: '/ESZ26:XCME', instrument_type: 'Future Option', multiplier: 50, display: '/ES Dec 26 6000 C' });
  assert.deepEqual([es.symbol, es.underlying, es.display, es.multiplier, es.tick(46.8)], ['./ESZ26C6000:XCME', '/ESZ26:XCME', '/ES Dec 26 6000 C', 50, '0.25']);
  assert.equal(fromPosition({ symbol: '912828XX1', instrument_type: 'Bond' }), null);
  assert.equal(fromPosition({ symbol: 'SPY', instrument_type: 'Equity Option' }), null, 'a kind its symbol is not');
  assert.equal(kindOf('us_option'), KIND.EQUITY_OPTION);
  assert.equal(kindOf('Warrant'), null);
});

test('what each broker takes of each kind, and what it says of the rest', () => {
  const alpacaCoins = brokerTakes('Alpaca', KIND.CRYPTO);
  assert.deepEqual(alpacaCoins.order_types, ['Limit', 'Market', 'Stop Limit', 'Notional Market']);
  assert.deepEqual(alpacaCoins.times_in_force, ['GTC', 'IOC']);
  assert.equal(alpacaCoins.fraction_places, 9);
  assert.deepEqual(brokerTakes('tastytrade', KIND.CRYPTO).market_times_in_force, ['IOC']);
  assert.deepEqual(brokerTakes('tastytrade', KIND.FUTURE).order_types, ['Limit', 'Market', 'Stop', 'Stop Limit']);
  assert.equal(brokerTakes('tradier', KIND.CRYPTO), null);
  assert.equal(brokerTakes('alpaca', KIND.FUTURE_OPTION), null);
  assert.equal(refusal('tradier', KIND.CRYPTO), 'Tradier trades stocks and options only: it takes no crypto orders.');
  assert.equal(refusal('alpaca', KIND.FUTURE), 'Alpaca trades stocks, options and crypto: it takes no futures orders.');
  assert.deepEqual(Object.keys(rulesTable()), ['tastytrade', 'tradier', 'alpaca']);
  assert.deepEqual(Object.keys(rulesTable().tradier), Object.values(KIND));
});
