// static/js/trading/ticket-model.js: the ticket's drafts, prices, broker rules, body,
// countdown, idempotency keys and the order followed on the stream
// (docs/streaming-contract.md "Trading …", "In the browser").
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  BROKER_RULES, REPREVIEW_CODES, TRADING_PAGE_CODES, accountChoices, brokerOffers, countdownText, createConfirmKeys,
  followOrder, followText, fromChainCell, fromOrder, fromPosition, fromStrategy, fromSymbol, orderBody, prefillPrice, priceProblem,
  refusalText, roundToTick, secondsLeft, startingAccount, strategyCloseOffer, tickOf, tradable,
} from '../../static/js/trading/ticket-model.js';

const DOC = readFileSync(new URL('../../docs/streaming-contract.md', import.meta.url), 'utf8');
const OPT = '.SPY270115C590';
const AAPL_OPT = '.AAPL270115C200';
const quotes = new Map([
  ['SPY', { bid: 589.98, ask: 590.02 }],
  [OPT, { bid: 2.3, ask: 2.35 }],
  [AAPL_OPT, { bid: 4.12, ask: 4.38 }],
  ['PENNY', { bid: 0.12344, ask: 0.12356 }],
  ['.SPY270115P580', { bid: 1.1, ask: 1.2 }],
]);
const quote = (sym) => quotes.get(sym);
const accounts = new Map([
  ['5WT00001', { number: '5WT00001', link: 3, broker: 'tastytrade', label: 'Main' }],
  ['VA000001', { number: 'VA000001', link: 4, broker: 'tradier', label: 'IRA' }],
  ['PA000001', { number: 'PA000001', link: 5, broker: 'alpaca', label: 'Paper' }],
]);

test('the tick grid is the contract\'s: stock ≥1.00 0.01, <1.00 0.0001; options <3.00 0.01, ≥3.00 0.05; SPY/QQQ/IWM 0.01', () => {
  assert.match(DOC, /stock ≥ 1\.00 in 0\.01, below 1\.00 in 0\.0001; options\s+below 3\.00 in 0\.01, from 3\.00 in 0\.05 \(SPY, QQQ, IWM: 0\.01 throughout\)/);
  assert.equal(tickOf('AAPL', 1), '0.01');
  assert.equal(tickOf('AAPL', 0.99), '0.0001');
  assert.equal(tickOf(AAPL_OPT, 2.99), '0.01');
  assert.equal(tickOf(AAPL_OPT, 3), '0.05');
  for (const root of ['SPY', 'QQQ', 'IWM']) assert.equal(tickOf(`.${root}270115C590`, 12.5), '0.01');
  assert.equal(roundToTick('AAPL', 190.126), '190.13');
  assert.equal(roundToTick('PENNY', 0.12356), '0.1236');
  assert.equal(roundToTick(AAPL_OPT, 4.38), '4.40');
  assert.equal(roundToTick(AAPL_OPT, 4.12), '4.10');
  assert.equal(roundToTick(OPT, 12.34), '12.34');
  assert.equal(roundToTick(AAPL_OPT, 0.004), '0.01', 'never below one tick');
  assert.equal(roundToTick('AAPL', null), null);
  assert.equal(roundToTick('AAPL', 0), null);
});

test('a typed price is checked against the grid, with a sentence', () => {
  assert.equal(priceProblem(AAPL_OPT, '4.35'), null);
  assert.match(priceProblem(AAPL_OPT, '4.37'), /off the tick grid: \.AAPL270115C200 trades in steps of 0\.05/);
  assert.equal(priceProblem('PENNY', '0.1234'), null);
  assert.match(priceProblem('PENNY', '0.12345'), /steps of 0\.0001/);
  assert.match(priceProblem('AAPL', '-1'), /positive number/);
  assert.match(priceProblem('AAPL', '1e3'), /positive number/);
  assert.match(priceProblem('AAPL', '0'), /positive number/);
});

test('prices prefill from the live quote: buy at the ask, sell at the bid, a multi-leg at the net mid', () => {
  assert.equal(prefillPrice([{ symbol: OPT, action: 'Buy to Open', quantity: 1 }], quote), '2.35');
  assert.equal(prefillPrice([{ symbol: OPT, action: 'Sell to Close', quantity: 1 }], quote), '2.30');
  assert.equal(prefillPrice([{ symbol: 'NOQUOTE', action: 'Buy to Open', quantity: 1 }], quote), null);
  // a vertical: buy the 590 call (mid 2.325), sell the 580 put (mid 1.15): net 1.175 → 1.18
  const legs = [{ symbol: OPT, action: 'Buy to Open', quantity: 1 }, { symbol: '.SPY270115P580', action: 'Sell to Open', quantity: 1 }];
  assert.equal(prefillPrice(legs, quote), '1.18');
  assert.equal(prefillPrice([...legs, { symbol: 'NOQUOTE', action: 'Buy to Open', quantity: 1 }], quote), null);
});

test('a position\'s Close… is the opposite action for the whole quantity, in its own account', () => {
  const acct = accounts.get('5WT00001');
  const long = { symbol: 'SPY   270115C00590000', streamer_symbol: OPT, direction: 'Long', quantity: 3 };
  const close = fromPosition(long, acct, quote, 'close');
  assert.deepEqual(close.legs, [{ symbol: OPT, action: 'Sell to Close', quantity: 3 }]);
  assert.deepEqual(close.account, { link: 3, account: '5WT00001' });
  assert.equal(close.accountFixed, true);
  assert.equal(close.price, '2.30', 'a sell at the bid');
  const short = fromPosition({ symbol: 'SPY', streamer_symbol: 'SPY', direction: 'Short', quantity: 100 }, acct, quote, 'close');
  assert.deepEqual(short.legs, [{ symbol: 'SPY', action: 'Buy to Close', quantity: 100 }]);
  assert.equal(short.price, '590.02', 'a buy at the ask');
  // Trade…: the same instrument, in its own account (changeable), its own direction
  const trade = fromPosition(long, acct, quote, 'trade');
  assert.deepEqual(trade.legs, [{ symbol: OPT, action: 'Buy to Open', quantity: 1 }]);
  assert.equal(trade.accountFixed, false);
  assert.deepEqual(trade.account, { link: 3, account: '5WT00001' });
  assert.equal(fromPosition({ symbol: 'SPY', direction: 'Short', quantity: 5 }, acct, quote, 'trade').legs[0].action, 'Sell to Open');
});

test('a watchlist row\'s ticket chooses no account across brokers; a single account is preselected', () => {
  const all = accountChoices(accounts);
  assert.equal(all.length, 3);
  const many = fromSymbol('SPY', quote, all);
  assert.equal(many.account, null);
  assert.deepEqual(many.legs, [{ symbol: 'SPY', action: 'Buy to Open', quantity: 1 }]);
  assert.equal(many.price, '590.02');
  const one = fromSymbol('SPY', quote, all.filter((c) => c.broker === 'alpaca'));
  assert.deepEqual(one.account, { link: 5, account: 'PA000001' });
  assert.equal(startingAccount(all), null);
  assert.equal(startingAccount(all, { link: 4, account: 'VA000001' }).broker, 'tradier');
});

test('a chain cell: the bid sells to open at the bid, the ask buys to open at the ask', () => {
  const choices = accountChoices(accounts);
  const bid = fromChainCell(OPT, 'bid', quote, choices);
  assert.deepEqual(bid.legs, [{ symbol: OPT, action: 'Sell to Open', quantity: 1 }]);
  assert.equal(bid.price, '2.30');
  const ask = fromChainCell(OPT, 'ask', quote, choices);
  assert.deepEqual(ask.legs, [{ symbol: OPT, action: 'Buy to Open', quantity: 1 }]);
  assert.equal(ask.price, '2.35');
  assert.equal(ask.account, null);
});

test('a working order\'s Replace… keeps its account and legs (the quantity still open) and names it', () => {
  const order = {
    id: '1234', order_type: 'Limit', price: 2.3, time_in_force: 'GTC',
    legs: [{ symbol: OPT, action: 'Buy to Open', quantity: 3, remaining_quantity: 2 }],
  };
  const d = fromOrder(order, 3, '5WT00001');
  assert.equal(d.replaces, '1234');
  assert.deepEqual(d.account, { link: 3, account: '5WT00001' });
  assert.equal(d.accountFixed, true);
  assert.deepEqual(d.legs, [{ symbol: OPT, action: 'Buy to Open', quantity: 2 }]);
  assert.equal(d.price, '2.30');
  assert.equal(d.time_in_force, 'GTC');
  assert.equal(fromOrder({ ...order, order_type: 'Market', price: null }, 3, '5WT00001').price, null);
});

test('Replace… of an order in a broker\'s own words (Tradier, Alpaca) speaks the contract\'s', () => {
  const tradier = {
    id: '77', order_type: 'limit', price: 1.1, time_in_force: 'gtc',
    legs: [{ symbol: 'SPY261218C00600000', action: 'buy_to_open', quantity: 1, remaining_quantity: 1 }],
  };
  const d = fromOrder(tradier, 5, 'VA000001');
  assert.deepEqual(d.legs, [{ symbol: '.SPY261218C600', action: 'Buy to Open', quantity: 1 }]);
  assert.equal(d.order_type, 'Limit');
  assert.equal(d.time_in_force, 'GTC');
  const stock = (action) => fromOrder({ ...tradier, legs: [{ symbol: 'SPY', action, quantity: 5 }] }, 5, 'VA000001').legs[0].action;
  assert.equal(stock('buy'), 'Buy to Open');
  assert.equal(stock('sell'), 'Sell to Close');
  assert.equal(stock('sell_short'), 'Sell to Open');
  assert.equal(stock('buy_to_cover'), 'Buy to Close');
  const alpaca = { id: 'a-1', order_type: 'market', price: null, time_in_force: 'day', legs: [{ symbol: 'AAPL', action: 'buy', quantity: 2 }] };
  const a = fromOrder(alpaca, 6, 'ALP1');
  assert.equal(a.order_type, 'Market');
  assert.equal(a.time_in_force, 'Day');
  const tasty = fromOrder({ ...tradier, legs: [{ symbol: 'SPY   261218C00600000', action: 'Sell to Close', quantity: 1 }] }, 3, '5WT1');
  assert.deepEqual(tasty.legs, [{ symbol: '.SPY261218C600', action: 'Sell to Close', quantity: 1 }]);
});

test('what each broker takes: Alpaca options Day only, multi-leg at tastytrade and Tradier', () => {
  assert.match(DOC, /Alpaca\s+— stock and single options, Market\/Limit, Day\/GTC \(options Day only\)/);
  const single = [{ symbol: OPT, action: 'Buy to Open', quantity: 1 }];
  assert.deepEqual(brokerOffers('alpaca', single).timesInForce, ['Day']);
  assert.deepEqual(brokerOffers('alpaca', [{ symbol: 'SPY', action: 'Buy to Open', quantity: 1 }]).timesInForce, ['Day', 'GTC']);
  assert.deepEqual(brokerOffers('tradier', single).timesInForce, ['Day', 'GTC']);
  for (const b of Object.keys(BROKER_RULES)) assert.deepEqual(brokerOffers(b, single).orderTypes, ['Limit', 'Market']);
  const two = [...single, { symbol: '.SPY270115P580', action: 'Sell to Open', quantity: 1 }];
  assert.equal(brokerOffers('tastytrade', two).error, null);
  assert.equal(brokerOffers('tradier', two).error, null);
  assert.match(DOC, /Tradier — stock,\s+single options and multileg option orders/);
  assert.match(brokerOffers('alpaca', two).error, /alpaca does not take multi-leg orders here: choose a tastytrade or Tradier account/);
  assert.equal(tradable('SPY'), true);
  assert.equal(tradable(OPT), true);
  assert.equal(tradable('/ESZ26'), false);
  assert.equal(tradable('BRK/B'), true);
  assert.equal(tradable('not a symbol'), false);
});

test('account choices name broker, label and number; links staff did not enable are marked', () => {
  const c = accountChoices(accounts, { links: [{ link: 4, enabled: false }, { link: 3, enabled: true }] });
  assert.deepEqual(c.map((x) => x.value), ['5WT00001', 'PA000001', 'VA000001'].map((n) => `${accounts.get(n).link}|${n}`).sort((a, b) => {
    const text = (v) => c.find((x) => x.value === v).text;
    return text(a) < text(b) ? -1 : 1;
  }));
  const tradier = c.find((x) => x.broker === 'tradier');
  assert.equal(tradier.text, 'tradier · IRA VA000001 (trading not enabled)');
  assert.equal(tradier.enabled, false);
  assert.equal(c.find((x) => x.broker === 'tastytrade').text, 'tastytrade · Main 5WT00001');
});

test('the order body is the contract\'s, the price a decimal string', () => {
  const values = {
    account: { link: 3, account: '5WT00001' }, legs: [{ symbol: OPT, action: 'Buy to Open', quantity: '2' }],
    order_type: 'Limit', price: '2.35', time_in_force: 'Day', replaces: null,
  };
  const made = orderBody(values);
  assert.deepEqual(made.body, {
    link: 3, account: '5WT00001', legs: [{ symbol: OPT, action: 'Buy to Open', quantity: 2 }],
    order_type: 'Limit', price: '2.35', time_in_force: 'Day', replaces: null,
  });
  // the documented example, key for key
  const example = JSON.parse(DOC.split('### The order')[1].split('```json')[1].split('```')[0]);
  assert.deepEqual(Object.keys(made.body).sort(), Object.keys(example).sort());
  assert.deepEqual(made.body, example);
  assert.equal(orderBody({ ...values, order_type: 'Market', price: '9' }).body.price, null);
  assert.equal(orderBody({ ...values, replaces: '77' }).body.replaces, '77');
  assert.match(orderBody({ ...values, account: null }).error, /Choose the account/);
  for (const q of ['0', '-1', '1.5', '', '1000001']) assert.match(orderBody({ ...values, legs: [{ ...values.legs[0], quantity: q }] }).error, /whole number from 1 to 1,000,000/);
  assert.match(orderBody({ ...values, price: '2.351' }).error, /tick grid/);
  assert.match(orderBody({ ...values, price: '' }).error, /positive number/);
  assert.match(orderBody({ ...values, legs: [{ ...values.legs[0], action: 'Buy' }] }).error, /Choose an action/);
});

test('the countdown runs to expires_at and then says to preview again', () => {
  const at = 1_760_000_030_000;
  assert.equal(secondsLeft(at, at - 30_000), 30);
  assert.equal(secondsLeft(at, at - 29_001), 30, "a part second counts");
  assert.equal(secondsLeft(at, at - 29_000), 29);
  assert.equal(secondsLeft(at, at - 1), 1);
  assert.equal(secondsLeft(at, at), 0);
  assert.equal(secondsLeft(at, at + 5000), 0);
  assert.equal(countdownText(at, at - 12_000), 'Expires in 12 s.');
  assert.equal(countdownText(at, at), 'The preview expired: preview again.');
});

test('one Idempotency-Key per preview, the same one again for a resend', () => {
  let n = 0;
  const keys = createConfirmKeys(() => `key-${++n}`);
  assert.equal(keys.keyFor('p1'), 'key-1');
  assert.equal(keys.keyFor('p1'), 'key-1');
  assert.equal(keys.keyFor('p2'), 'key-2');
  assert.equal(keys.keyFor('p1'), 'key-1');
});

test('refusals: the server\'s sentence; which codes offer a new preview or the /trading page', () => {
  assert.equal(refusalText(409, { error: 'The quote moved.', code: 'quote_moved' }, 'x'), 'The quote moved.');
  assert.match(refusalText(0, null, 'the order was not previewed'), /cannot be reached: the order was not previewed/);
  assert.equal(refusalText(500, null, 'the order was not previewed'), 'The order was not previewed (HTTP 500).');
  assert.deepEqual([...REPREVIEW_CODES].sort(), ['preview_expired', 'quote_moved']);
  assert.deepEqual([...TRADING_PAGE_CODES].sort(), ['second_factor', 'trading_disabled']);
});

test('the placed order is followed on the stream by (link, order id): status and fills', () => {
  const order = (status, fills) => ({ id: '88', status, legs: [{ symbol: OPT, action: 'Buy to Open', quantity: 2, remaining_quantity: 2, fills }] });
  const orders = new Map([['3:88', order('Received', [])], ['4:88', order('Filled', [{ id: 'x', quantity: 2, price: 9 }])]]);
  assert.equal(followOrder(orders, 3, null), null);
  assert.equal(followOrder(orders, 5, '88'), null, 'another link\'s order 88 is not ours');
  assert.equal(followText(followOrder(new Map(), 3, '88')), 'Waiting for the order on the stream…');
  assert.equal(followText(followOrder(orders, 3, '88')), 'Received');
  orders.set('3:88', order('Live', []));
  assert.equal(followText(followOrder(orders, 3, '88')), 'Live');
  orders.set('3:88', order('Partially Filled', [{ id: 'a', quantity: 1, price: 2.3 }]));
  assert.equal(followText(followOrder(orders, 3, '88')), 'Partially Filled 1/2 @ 2.30');
  orders.set('3:88', order('Filled', [{ id: 'a', quantity: 1, price: 2.3 }, { id: 'b', quantity: 1, price: 2.4 }]));
  const f = followOrder(orders, 3, '88');
  assert.deepEqual({ status: f.status, filled: f.filled, quantity: f.quantity }, { status: 'Filled', filled: 2, quantity: 2 });
  assert.equal(followText(f), 'Filled 2 @ 2.35');
});

// ------------------------------------------------------------------ a strategy's Close…

const CALL_LOW = 'SPY   270115C00590000';
const CALL_HIGH = 'SPY   270115C00600000';
/** A call debit vertical of 2 at tastytrade (`GET /api/risk/strategies`' shape). */
const vertical = {
  name: 'call debit vertical', family: 'vertical', underlying: 'SPY', account: '5WT00001', quantity: 2,
  legs: [
    { symbol: CALL_LOW, kind: 'call', strike: 590, expiration: '2027-01-15', quantity: 2 },
    { symbol: CALL_HIGH, kind: 'call', strike: 600, expiration: '2027-01-15', quantity: -2 },
  ],
};
const tastyAcct = {
  number: '5WT00001', link: 3, broker: 'tastytrade',
  positions: new Map([
    [CALL_LOW, { symbol: CALL_LOW, streamer_symbol: '.SPY270115C590', quantity: '3', direction: 'Long' }],
    [CALL_HIGH, { symbol: CALL_HIGH, streamer_symbol: '.SPY270115C600', quantity: '2', direction: 'Short' }],
  ]),
};
const spreadQuotes = new Map([['.SPY270115C590', { bid: 2.3, ask: 2.35 }], ['.SPY270115C600', { bid: 0.61, ask: 0.64 }]]);

test('a strategy\'s Close…: every option leg, the opposite closing action, its whole quantity, its own account', () => {
  const d = fromStrategy(vertical, tastyAcct, (sym) => spreadQuotes.get(sym));
  assert.deepEqual(d.legs, [
    { symbol: '.SPY270115C590', action: 'Sell to Close', quantity: 2 }, // the strategy's 2, not the position's 3
    { symbol: '.SPY270115C600', action: 'Buy to Close', quantity: 2 },
  ]);
  assert.deepEqual(d.account, { link: 3, account: '5WT00001' });
  assert.equal(d.accountFixed, true);
  assert.equal(d.order_type, 'Limit');
  assert.equal(d.replaces, null);
  assert.equal(d.title, 'Close call debit vertical SPY (5WT00001)');
  // the net mid per vertical: sell 2.325, buy back 0.625 → a 1.70 credit, positive
  assert.equal(d.price, '1.70');
  // the body the server reads: a multi-leg limit with the positive net price
  const made = orderBody({ ...d, price: d.price });
  assert.deepEqual(made.body, {
    link: 3, account: '5WT00001', legs: d.legs, order_type: 'Limit', price: '1.70', time_in_force: 'Day', replaces: null,
  });
});

test('a strategy\'s Close…: legs not on the stream are spelled from the broker\'s OCC symbol; a stock leg stays', () => {
  const covered = {
    name: 'covered call', underlying: 'SPY', account: '5WT00001',
    legs: [{ symbol: 'SPY', kind: 'stock', quantity: 100 }, { symbol: 'SPY   270115C00620000', kind: 'call', quantity: -1 }],
  };
  const d = fromStrategy(covered, { ...tastyAcct, positions: new Map() }, () => undefined);
  assert.deepEqual(d.legs, [{ symbol: '.SPY270115C620', action: 'Buy to Close', quantity: 1 }]);
  assert.equal(d.price, null, 'no quote: no price made up');
  assert.deepEqual(strategyCloseOffer(covered, 'alpaca'), { offered: true, why: null, stockStays: true });
  const stock = { name: 'long stock', legs: [{ symbol: 'SPY', kind: 'stock', quantity: 5 }] };
  assert.equal(fromStrategy(stock, tastyAcct, quote), null);
  assert.deepEqual(strategyCloseOffer(stock, 'tastytrade'), { offered: false, why: null, stockStays: true });
  assert.equal(fromStrategy(vertical, undefined, quote), null, 'an account not on the stream');
});

test('a strategy\'s Close… is offered where the broker takes its legs in one order, else says why', () => {
  assert.deepEqual(strategyCloseOffer(vertical, 'tastytrade'), { offered: true, why: null, stockStays: false });
  assert.deepEqual(strategyCloseOffer(vertical, 'tradier'), { offered: true, why: null, stockStays: false });
  const alpaca = strategyCloseOffer(vertical, 'alpaca');
  assert.equal(alpaca.offered, false);
  assert.equal(alpaca.why, "Alpaca takes no multi-leg orders: close each leg from its position's row.");
  const five = { legs: Array.from({ length: 5 }, (_, i) => ({ symbol: `X${i}`, kind: 'put', quantity: 1 })) };
  assert.match(strategyCloseOffer(five, 'tastytrade').why, /^tastytrade takes at most 4 legs in one order/);
  assert.equal(strategyCloseOffer(vertical, '').offered, false);
  const single = { legs: [vertical.legs[0]] };
  assert.equal(strategyCloseOffer(single, 'alpaca').offered, true);
});

test('a multi-leg net price: on the 0.01 grid at every price, per unit of the legs\' ratio', () => {
  assert.equal(tickOf(AAPL_OPT, 4.37, 2), '0.01');
  assert.equal(priceProblem(AAPL_OPT, '4.37', 2), null);
  assert.match(priceProblem(AAPL_OPT, '4.375', 2), /off the tick grid: a multi-leg net price moves in steps of 0\.01/);
  assert.match(DOC, /multi-leg limit's `price` is the net price/);
  const fly = [
    { symbol: AAPL_OPT, action: 'Buy to Open', quantity: 2 },
    { symbol: OPT, action: 'Sell to Open', quantity: 4 },
    { symbol: '.SPY270115P580', action: 'Buy to Open', quantity: 2 },
  ];
  // (4.25 × 2 − 2.325 × 4 + 1.15 × 2) / 2 = 0.75 per 1:2:1
  assert.equal(prefillPrice(fly, quote), '0.75');
  // 4.25 − 1.15 = 3.10 net: not rounded to the single option's nickel
  assert.equal(prefillPrice([{ symbol: AAPL_OPT, action: 'Buy to Open', quantity: 1 }, { symbol: '.SPY270115P580', action: 'Sell to Open', quantity: 1 }], quote), '3.10');
});
