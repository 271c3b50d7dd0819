// The ticket by instrument (docs/streaming-contract.md "Instruments", "The order", "The price
// guard", "In the browser"): every draft names its instrument by the contract symbol (a
// position's streamer_symbol, never its broker symbol), so its quote is the instrument's own
// (Alpaca's BTCUSD is bitcoin at ~95,000, not a $50 ticker); titles and legends say display
// names; what each broker offers comes from the rules table per kind; a coin keeps its decimals;
// futures trade whole contracts on their tick grid.
import test from 'node:test';
import assert from 'node:assert/strict';

import { previewWarnings, SECOND_CONFIRM_TEXT, tradable } from '../../../../static/js/trading/ticket/model.js';
import { orderBody } from '../../../../static/js/trading/ticket/body.js';
import {
  fromOrder, fromPosition, fromSymbol, legName, protectPosition,
} from '../../../../static/js/trading/ticket/drafts.js';
import {
  brokerOffers, exitsOffered, protectRefusal, rollOffered, accountChoices, unofferedBrokers,
} from '../../../../static/js/trading/ticket/offers.js';
import { prefillPrice, priceProblem, roundToTick, tickOf } from '../../../../static/js/trading/ticket/prices.js';

const COIN = 'BTC/USD:CXTALP';
const ES = '/ESZ26:XCME';
const ES_CALL = './ESZ26C6000:XCME';
const quotes = new Map([
  [COIN, { bid: 95012.41, ask: 95013.07 }],
  ['BTCUSD', { bid: 50.86, ask: 50.87 }], // a made-up ticker spelled like the coin
  [ES, { bid: 6012.25, ask: 6012.5 }],
  [ES_CALL, { bid: 46.5, ask: 47.25 }],
  ['.SPY270115C590', { bid: 14.0, ask: 14.1 }],
]);
const quote = (sym) => quotes.get(sym);
const alpaca = { number: '5WT17633', link: 5, broker: 'alpaca', label: 'Margin' };
const tasty = { number: '5WT13997', link: 3, broker: 'tastytrade', label: 'Main' };
const ALPACA_BTC = { symbol: 'BTCUSD', streamer_symbol: COIN, display: 'BTC/USD', underlying: COIN, instrument_type: 'Cryptocurrency', direction: 'Long', quantity: 0.25 };
const TASTY_ES_CALL = { symbol: './ESZ6 ESZ6 261218C6000', streamer_symbol: ES_CALL, display: '/ES Dec 26 6000 C', underlying: ES, instrument_type: 'Future Option', direction: 'Long', quantity: 1, multiplier: 50 };
const SPY_CALL = { symbol: 'SPY270115C00590000', streamer_symbol: '.SPY270115C590', display: 'SPY 15 Jan 27 590 C', underlying: 'SPY', instrument_type: 'Equity Option', direction: 'Long', quantity: 3 };

test('Alpaca\'s BTCUSD Close… trades the coin at the coin\'s price, never the look-alike ticker\'s', () => {
  const close = fromPosition(ALPACA_BTC, alpaca, quote, 'close');
  assert.deepEqual(close.legs, [{ symbol: COIN, action: 'Sell to Close', quantity: 0.25 }]);
  assert.equal(close.title, 'Close BTC/USD');
  assert.equal(close.price, '95012.41', 'a sell at the coin\'s bid, on its 0.01 grid');
  assert.equal(legName(close, COIN), 'BTC/USD');
  assert.equal(fromPosition(ALPACA_BTC, alpaca, quote, 'trade').title, 'Trade BTC/USD');
  const protect = protectPosition(ALPACA_BTC, alpaca);
  assert.equal(protect.title, 'Protect BTC/USD');
  assert.deepEqual(protect.legs, [{ symbol: COIN, action: 'Sell to Close', quantity: 0.25 }]);
});

test('a future option is closed by its contract symbol, whole contracts, on its tick grid', () => {
  const close = fromPosition(TASTY_ES_CALL, tasty, quote, 'close');
  assert.deepEqual(close.legs, [{ symbol: ES_CALL, action: 'Sell to Close', quantity: 1 }]);
  assert.equal(close.title, 'Close /ES Dec 26 6000 C');
  assert.equal(close.price, '46.50');
  assert.deepEqual([tickOf(ES_CALL, 46.8), tickOf(ES_CALL, 4.9), tickOf(ES, 6000)], ['0.25', '0.05', '0.25']);
  assert.equal(roundToTick(ES_CALL, 46.8), '46.75');
  assert.equal(roundToTick(ES_CALL, 4.93), '4.95');
  assert.equal(roundToTick(ES, 6012.4), '6012.50');
  assert.equal(priceProblem(ES_CALL, '46.75'), null);
  assert.equal(priceProblem(ES_CALL, '46.80'), 'The price 46.80 is off the tick grid: /ES Dec 26 6000 C trades in steps of 0.25 at that price.');
  assert.equal(priceProblem(ES, '6012.30'), 'The price 6012.30 is off the tick grid: /ES Dec 26 trades in steps of 0.25 at that price.');
  const offers = brokerOffers('tastytrade', close.legs);
  assert.deepEqual([offers.orderTypes, offers.timesInForce, offers.places, offers.error], [['Limit', 'Market', 'Stop', 'Stop Limit'], ['Day', 'GTC'], 0, null]);
  const body = orderBody({ account: { link: 3, account: tasty.number }, legs: [{ ...close.legs[0], quantity: '0.5' }], order_type: 'Limit', price: '46.75', time_in_force: 'Day', places: offers.places });
  assert.equal(body.error, 'The quantity must be a whole number from 1 to 1,000,000.');
});

test('what each broker offers comes from the rules table per kind', () => {
  const coin = [{ symbol: COIN, action: 'Sell to Close', quantity: 0.25 }];
  const a = brokerOffers('alpaca', coin);
  assert.deepEqual(a.orderTypes, ['Limit', 'Market', 'Stop Limit', 'Notional Market']);
  assert.deepEqual(a.timesInForce, ['GTC', 'IOC'], 'Alpaca\'s crypto: GTC or IOC, never Day');
  assert.deepEqual(brokerOffers('alpaca', coin, 'Market').timesInForce, ['GTC', 'IOC']);
  assert.equal(a.places, 9);
  const t = brokerOffers('tastytrade', coin);
  assert.deepEqual(t.timesInForce, ['GTC', 'IOC']);
  assert.deepEqual(brokerOffers('tastytrade', coin, 'Market').timesInForce, ['IOC'], 'tastytrade\'s market coin order: IOC');
  assert.equal(t.places, 8);
  assert.equal(brokerOffers('tradier', coin).error, 'Tradier trades stocks and options only: it takes no crypto orders.');
  assert.equal(brokerOffers('alpaca', [{ symbol: ES, action: 'Buy to Open', quantity: 1 }]).error, 'Alpaca trades stocks, options and crypto: it takes no futures orders.');
  // a dollar amount of stock is for the day; Alpaca's options are Day only
  assert.deepEqual(brokerOffers('alpaca', [{ symbol: 'AAPL', action: 'Buy to Open', quantity: 1 }], 'Notional Market').timesInForce, ['Day']);
  assert.deepEqual(brokerOffers('alpaca', [{ symbol: 'AAPL', action: 'Buy to Open', quantity: 1 }]).timesInForce, ['Day', 'GTC']);
  assert.deepEqual(brokerOffers('tastytrade', [{ symbol: 'AAPL', action: 'Buy to Open', quantity: 1 }], 'Market').timesInForce, ['Day']);
  // the watchlist's ticket on a coin: only the brokers that trade it, the others said in words
  const accounts = new Map([[alpaca.number, alpaca], [tasty.number, tasty], ['VA1', { number: 'VA1', link: 4, broker: 'tradier', label: 'IRA' }]]);
  assert.deepEqual(unofferedBrokers(accountChoices(accounts), coin), ['Tradier trades stocks and options only: it takes no crypto orders.']);
  assert.deepEqual(unofferedBrokers(accountChoices(accounts), [{ symbol: 'AAPL', action: 'Buy to Open', quantity: 1 }]), []);
});

test('a coin\'s quantity keeps its decimals, to its broker\'s places', () => {
  const legs = [{ symbol: COIN, action: 'Sell to Close', quantity: '0.25' }];
  const values = { account: { link: 5, account: alpaca.number }, legs, order_type: 'Limit', price: '95012.41', time_in_force: 'GTC', places: 9 };
  assert.deepEqual(orderBody(values).body.legs, [{ symbol: COIN, action: 'Sell to Close', quantity: '0.25' }]);
  assert.equal(orderBody({ ...values, legs: [{ ...legs[0], quantity: '0.123456789' }], places: 8 }).error,
    'The quantity must be more than 0 and at most 1,000,000, with at most 8 decimals.');
  // Replace… of a working coin order keeps what is left of it
  const order = { id: 'c1', order_type: 'Limit', price: 99000, time_in_force: 'GTC', legs: [{ symbol: 'BTC/USD', streamer_symbol: COIN, display: 'BTC/USD', action: 'sell', quantity: 0.25, remaining_quantity: 0.25 }] };
  const replace = fromOrder(order, 5, alpaca.number);
  assert.deepEqual(replace.legs, [{ symbol: COIN, action: 'Sell to Close', quantity: 0.25 }]);
  assert.equal(replace.time_in_force, 'GTC');
  assert.equal(replace.title, 'Replace order c1 (BTC/USD)');
  // a multi-leg or stop prefill of a coin is on the coin's grid
  assert.equal(prefillPrice([{ symbol: COIN, action: 'Buy to Open', quantity: 0.25 }], quote), '95013.07');
});

test('every draft from a symbol names the instrument by its contract symbol', () => {
  const coin = fromSymbol('btc/usd', quote, []);
  assert.deepEqual(coin.legs, [{ symbol: COIN, action: 'Buy to Open', quantity: 1 }]);
  assert.equal(coin.title, 'Trade BTC/USD');
  assert.equal(coin.price, '95013.07');
  assert.equal(fromSymbol('/ESZ6', quote, []).legs[0].symbol, '/ESZ26:XCME');
  assert.equal(tradable(COIN), true);
  assert.equal(tradable(ES), true);
  assert.equal(tradable(ES_CALL), true);
  assert.equal(tradable('BTC/USD'), false, 'a spelling, not the contract symbol');
});

test('Roll… only for equity options at a broker that takes multi-leg orders', () => {
  assert.deepEqual([rollOffered('tastytrade', SPY_CALL), rollOffered('tastytrade', TASTY_ES_CALL), rollOffered('alpaca', ALPACA_BTC)], [true, false, false]);
  // Alpaca takes single legs: no Roll… on its options (not one offered, then refused)
  assert.deepEqual(['tastytrade', 'tradier', 'alpaca'].map((b) => rollOffered(b, SPY_CALL)), [true, true, false]);
});

test('Protect… where the broker links orders of the kind, and why not elsewhere', () => {
  assert.equal(protectRefusal(alpaca.broker, ALPACA_BTC), 'Alpaca takes no linked orders of crypto: protect it with a Stop Limit from Trade….');
  assert.equal(protectRefusal(tasty.broker, { ...ALPACA_BTC, symbol: 'BTC/USD' }), 'tastytrade takes no linked orders of crypto: protect it with a Stop Limit from Trade….');
  assert.equal(protectRefusal(tasty.broker, TASTY_ES_CALL), null);
  assert.equal(protectRefusal('alpaca', SPY_CALL), 'Alpaca takes no linked orders of options: protect it with a Stop from Trade….');
  assert.equal(protectRefusal('alpaca', { symbol: 'AAPL', streamer_symbol: 'AAPL', instrument_type: 'Equity', quantity: 0.5 }), 'Alpaca links orders of whole shares only.');
  assert.equal(protectRefusal('alpaca', { symbol: 'AAPL', streamer_symbol: 'AAPL', instrument_type: 'Equity', quantity: 5 }), null);
  const coin = [{ symbol: COIN, action: 'Buy to Open', quantity: 1 }];
  assert.equal(exitsOffered('alpaca', coin, 'Limit'), false, 'no bracket of a coin');
  assert.equal(exitsOffered('tastytrade', [{ symbol: ES, action: 'Buy to Open', quantity: 1 }], 'Limit'), true);
});

test('a preview the price guard stopped takes two Confirms; the warning that asks it stands out', () => {
  const far = "The limit 50.84 is 100 % from BTC/USD's live price 95,012.40: check it before you confirm.";
  const stale = 'No live price of BTC/USD: the order\'s prices were not checked against the market.';
  assert.deepEqual(previewWarnings({ second_confirm: true, warnings: [stale, far] }), [{ text: stale, strong: false }, { text: far, strong: true }]);
  assert.match(SECOND_CONFIRM_TEXT, /Confirm anyway/);
  assert.doesNotMatch(SECOND_CONFIRM_TEXT, /stop/, 'not only a stop asks for it now');
});
