// static/js/trading/ticket/ (model.js, offers.js, prices.js, drafts.js, body.js): the ticket's
// drafts, prices, broker rules, body, countdown, idempotency keys and the order followed on the stream
// (docs/streaming-contract.md "Trading …", "In the browser").
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  REPREVIEW_CODES, SECOND_CONFIRM_TEXT, TRADING_PAGE_CODES, countdownText, createConfirmKeys, followOrder, followText,
  followTicket, needsSecondConfirm, placedCount, previewWarnings, refusalText, secondsLeft, tradable,
} from '../../../../static/js/trading/ticket/model.js';
import { orderBody } from '../../../../static/js/trading/ticket/body.js';
import {
  protectPosition, contractOrderType, fromChainCell, fromOrder, fromPosition, fromStrategy, fromSymbol,
} from '../../../../static/js/trading/ticket/drafts.js';
import {
  BROKER_RULES, ORDER_TYPES, accountChoices, brokerOffers, exitsOffered, rollOffered, startingAccount,
  strategyCloseOffer, typeFields,
} from '../../../../static/js/trading/ticket/offers.js';
import {
  prefillPrice, prefillStopPrice, priceProblem, protectPrices, roundToTick, tickBeyond, tickOf,
} from '../../../../static/js/trading/ticket/prices.js';

const DOC = readFileSync(new URL('../../../../docs/streaming-contract.md', import.meta.url), 'utf8');
/** The contract's text with its line breaks and indents as single spaces (a sentence may wrap). */
const FLAT = DOC.replace(/\s+/g, ' ');
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
  assert.match(FLAT, /Tick grid \(`price`, `stop_price`, a trail's `amount`\): the instrument's own \("Instruments"\): stock and coins ≥ 1\.00 in 0\.01, below 1\.00 in 0\.0001; equity options below 3\.00 in 0\.01, from 3\.00 in 0\.05 \(SPY, QQQ, IWM: 0\.01 throughout\)/);
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
  assert.match(priceProblem(AAPL_OPT, '4.37'), /off the tick grid: AAPL 15 Jan 27 200 C trades in steps of 0\.05/, 'the option by its display name');
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
  assert.match(FLAT, /\| Alpaca \| equity options \| Limit, Market, Stop, Stop Limit \| Day \| 1 leg; not linked \|/);
  const single = [{ symbol: OPT, action: 'Buy to Open', quantity: 1 }];
  assert.deepEqual(brokerOffers('alpaca', single).timesInForce, ['Day']);
  assert.deepEqual(brokerOffers('alpaca', [{ symbol: 'SPY', action: 'Buy to Open', quantity: 1 }]).timesInForce, ['Day', 'GTC']);
  assert.deepEqual(brokerOffers('tradier', single).timesInForce, ['Day', 'GTC']);
  const two = [...single, { symbol: '.SPY270115P580', action: 'Sell to Open', quantity: 1 }];
  assert.equal(brokerOffers('tastytrade', two).error, null);
  assert.equal(brokerOffers('tradier', two).error, null);
  assert.match(FLAT, /\| Tradier \| equity options \| Limit, Market, Stop, Stop Limit \| Day, GTC \| up to 4 legs of one underlying; linked \|/);
  assert.match(brokerOffers('alpaca', two).error, /alpaca does not take multi-leg orders here: choose a tastytrade or Tradier account/);
  assert.equal(tradable('SPY'), true);
  assert.equal(tradable(OPT), true);
  assert.equal(tradable('/ESZ26'), false, 'a spelling: the ticket trades by the contract symbol');
  assert.equal(tradable('/ESZ26:XCME'), true);
  assert.equal(tradable('BRK/B'), true);
  assert.equal(tradable('not a symbol'), false);
});

test('account choices name broker, number and label (the number before the label: a narrow select cuts the end); links staff did not enable are marked', () => {
  const c = accountChoices(accounts, { links: [{ link: 4, enabled: false }, { link: 3, enabled: true }] });
  assert.deepEqual(c.map((x) => x.value), ['5WT00001', 'PA000001', 'VA000001'].map((n) => `${accounts.get(n).link}|${n}`).sort((a, b) => {
    const text = (v) => c.find((x) => x.value === v).text;
    return text(a) < text(b) ? -1 : 1;
  }));
  const tradier = c.find((x) => x.broker === 'tradier');
  assert.equal(tradier.text, 'tradier · VA000001 · IRA (trading not enabled)');
  assert.equal(tradier.enabled, false);
  assert.equal(c.find((x) => x.broker === 'tastytrade').text, 'tastytrade · 5WT00001 · Main');
});

test('the order body is the contract\'s, the price a decimal string', () => {
  const values = {
    account: { link: 3, account: '5WT00001' }, legs: [{ symbol: OPT, action: 'Buy to Open', quantity: '2' }],
    order_type: 'Limit', price: '2.35', time_in_force: 'Day', replaces: null,
  };
  const made = orderBody(values);
  assert.deepEqual(made.body, {
    link: 3, account: '5WT00001', legs: [{ symbol: OPT, action: 'Buy to Open', quantity: 2 }],
    order_type: 'Limit', price: '2.35', stop_price: null, trail: null, time_in_force: 'Day', replaces: null,
  });
  // the documented example, key for key, and a limit's stop_price and trail (null: it takes none)
  const example = JSON.parse(DOC.split('### The order')[1].split('```json')[1].split('```')[0]);
  assert.deepEqual(made.body, { ...example, stop_price: null, trail: null });
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

test('a linked order\'s ticket follows every order of its group, by role (the group\'s id is no order of its own)', () => {
  // tastytrade's complex order 77 / Tradier's parent 77: its members arrive as orders of their own
  const member = (id, role, status, fills = []) => ({
    id, status, group: { id: '77', class: 'oco', role },
    legs: [{ symbol: 'AAPL', action: 'Sell to Close', quantity: 1, remaining_quantity: 1, fills }],
  });
  const oco = { link: 3, account: 'A', complex: 'OCO', trigger: null, orders: [{}, {}] };
  assert.equal(placedCount(oco), 2);
  assert.equal(placedCount({ ...oco, complex: 'OTOCO', trigger: {} }), 3);
  assert.equal(placedCount({ legs: [] }), 1);
  const orders = new Map();
  assert.deepEqual(followTicket(orders, 3, '77', 2), { status: null, filled: null, text: 'Waiting for the order on the stream…' });
  orders.set('3:102', member('102', 'stop_loss', 'Received'));
  orders.set('4:101', member('101', 'take_profit', 'Live')); // another link's group 77 is not ours
  assert.deepEqual(followTicket(orders, 3, '77', 2), {
    status: 'Received', filled: '0', text: 'Stop loss: Received · 1 more not on the stream yet',
  });
  orders.set('3:101', member('101', 'take_profit', 'Live'));
  orders.set('3:102', member('102', 'stop_loss', 'Live'));
  assert.deepEqual(followTicket(orders, 3, '77', 2), { status: 'Live · Live', filled: '0 · 0', text: 'Take profit: Live · Stop loss: Live' });
  orders.set('3:101', member('101', 'take_profit', 'Cancelled'));
  orders.set('3:102', member('102', 'stop_loss', 'Filled', [{ id: 'f', quantity: 1, price: 150 }]));
  assert.equal(followTicket(orders, 3, '77', 2).text, 'Take profit: Cancelled · Stop loss: Filled 1 @ 150.00');
  // Alpaca: the group's id is its parent's, itself a member (a bracket's entry)
  const parent = { ...member('77', 'trigger', 'Filled', [{ id: 'e', quantity: 1, price: 190 }]) };
  const bracket = new Map([['5:78', { ...member('78', 'take_profit', 'Live') }], ['5:77', parent], ['5:79', member('79', 'stop_loss', 'Live')]]);
  assert.equal(followTicket(bracket, 5, '77', 3).text, 'Entry: Filled 1 @ 190.00 · Take profit: Live · Stop loss: Live');
  // one order: as before
  const one = new Map([['3:88', { id: '88', status: 'Live', group: null, legs: [] }]]);
  assert.deepEqual(followTicket(one, 3, '88'), { status: 'Live', filled: '0', text: 'Live' });
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
    link: 3, account: '5WT00001', legs: d.legs, order_type: 'Limit', price: '1.70', stop_price: null, trail: null,
    time_in_force: 'Day', replaces: null,
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
  assert.match(FLAT, /multi-leg limit's `price` is the net price/);
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

// ------------------------------------------------------------------ Stop, Stop Limit, Trailing Stop

const STOCK = { link: 5, account: 'PA000001' };
const stockValues = (over = {}) => ({
  account: STOCK, legs: [{ symbol: 'AAPL', action: 'Sell to Close', quantity: '10' }], order_type: 'Stop',
  price: '', stop_price: '', trail: null, time_in_force: 'GTC', replaces: null, ...over,
});

test('the order types are the contract\'s; each takes its fields: a price, a stop price, a trail', () => {
  assert.match(FLAT, /`order_type`: `Limit`, `Market`, `Stop`, `Stop Limit`, `Trailing Stop` or `Notional Market`/);
  assert.deepEqual(ORDER_TYPES, ['Limit', 'Market', 'Stop', 'Stop Limit', 'Trailing Stop', 'Notional Market']);
  const sized = { quantity: true, dollars: false };
  assert.deepEqual(typeFields('Limit'), { price: true, stop: false, trail: false, ...sized });
  assert.deepEqual(typeFields('Market'), { price: false, stop: false, trail: false, ...sized });
  assert.deepEqual(typeFields('Stop'), { price: false, stop: true, trail: false, ...sized });
  assert.deepEqual(typeFields('Stop Limit'), { price: true, stop: true, trail: false, ...sized });
  assert.deepEqual(typeFields('Trailing Stop'), { price: false, stop: false, trail: true, ...sized });
  assert.deepEqual(typeFields('Notional Market'), { price: false, stop: false, trail: false, quantity: false, dollars: true });
});

test('what each broker offers: stops of one leg; trailing stops at Alpaca, of stock only', () => {
  assert.match(FLAT, /\| tastytrade \| stock \| Limit, Market, Stop, Stop Limit, Notional Market \| Day, GTC \(Market: Day\) \| 1 leg;/);
  assert.match(FLAT, /\| Tradier \| stock \| Limit, Market, Stop, Stop Limit \| Day, GTC \| 1 leg; whole shares; linked \|/);
  const stock = [{ symbol: 'AAPL', action: 'Buy to Open', quantity: 1 }];
  const option = [{ symbol: OPT, action: 'Buy to Open', quantity: 1 }];
  const two = [...option, { symbol: '.SPY270115P580', action: 'Sell to Open', quantity: 1 }];
  assert.deepEqual(brokerOffers('tradier', stock).orderTypes, ['Limit', 'Market', 'Stop', 'Stop Limit']);
  assert.deepEqual(brokerOffers('tastytrade', stock).orderTypes, ['Limit', 'Market', 'Stop', 'Stop Limit', 'Notional Market']);
  for (const b of ['tastytrade', 'tradier']) {
    assert.deepEqual(brokerOffers(b, option).orderTypes, ['Limit', 'Market', 'Stop', 'Stop Limit'], b);
    assert.deepEqual(brokerOffers(b, two).orderTypes, ['Limit', 'Market'], `${b}: a multi-leg order is a Limit or a Market`);
  }
  assert.deepEqual(brokerOffers('alpaca', stock).orderTypes, ['Limit', 'Market', 'Stop', 'Stop Limit', 'Trailing Stop', 'Notional Market']);
  assert.deepEqual(brokerOffers('alpaca', option).orderTypes, ['Limit', 'Market', 'Stop', 'Stop Limit'], 'no trailing stop of an option');
  assert.deepEqual(brokerOffers('Alpaca', stock).orderTypes, brokerOffers('alpaca', stock).orderTypes, 'the broker\'s name in any case');
  assert.deepEqual(brokerOffers('', stock).orderTypes, ['Limit', 'Market'], 'no account chosen yet');
  assert.deepEqual(brokerOffers('schwab', stock).orderTypes, ['Limit', 'Market']);
  // the rules themselves: every broker takes stops, only Alpaca trails (of stock)
  for (const [b, r] of Object.entries(BROKER_RULES)) {
    assert.ok(r.optionTypes.includes('Stop Limit') && !r.optionTypes.includes('Trailing Stop'), b);
    assert.equal(r.stockTypes.includes('Trailing Stop'), b === 'alpaca', b);
  }
});

test('the body of each type: price, stop_price and trail always sent, null where the type takes none', () => {
  const keys = ['link', 'account', 'legs', 'order_type', 'price', 'stop_price', 'trail', 'time_in_force', 'replaces'];
  const base = { link: 5, account: 'PA000001', legs: [{ symbol: 'AAPL', action: 'Sell to Close', quantity: 10 }], time_in_force: 'GTC', replaces: null };
  const stop = orderBody(stockValues({ stop_price: ' 185.50 ', price: '190.00', trail: { amount: '1.00' } }));
  assert.deepEqual(stop.body, { ...base, order_type: 'Stop', price: null, stop_price: '185.50', trail: null });
  assert.deepEqual(Object.keys(stop.body), keys);
  const stopLimit = orderBody(stockValues({ order_type: 'Stop Limit', stop_price: '185.50', price: '185.00' }));
  assert.deepEqual(stopLimit.body, { ...base, order_type: 'Stop Limit', price: '185.00', stop_price: '185.50', trail: null });
  const amount = orderBody(stockValues({ order_type: 'Trailing Stop', stop_price: '185.50', price: '1', trail: { amount: '1.50' } }));
  assert.deepEqual(amount.body, { ...base, order_type: 'Trailing Stop', price: null, stop_price: null, trail: { amount: '1.50' } });
  const percent = orderBody(stockValues({ order_type: 'Trailing Stop', trail: { percent: '2.5', amount: '' } }));
  assert.deepEqual(percent.body.trail, { percent: '2.5' }, 'the empty amount beside it is not a second trail');
  const market = orderBody(stockValues({ order_type: 'Market', stop_price: '185.50', trail: { percent: '2' } }));
  assert.deepEqual(market.body, { ...base, order_type: 'Market', price: null, stop_price: null, trail: null });
  assert.deepEqual(Object.keys(market.body), keys);
  const limit = orderBody(stockValues({ order_type: 'Limit', price: '190.00', stop_price: '185.50' }));
  assert.deepEqual([limit.body.price, limit.body.stop_price, limit.body.trail], ['190.00', null, null]);
  // an option's stop on its own grid (a nickel from 3.00)
  const opt = orderBody(stockValues({ legs: [{ symbol: AAPL_OPT, action: 'Sell to Close', quantity: '1' }], stop_price: '4.05' }));
  assert.equal(opt.body.stop_price, '4.05');
});

test('every refusal of a stop, a stop limit and a trailing stop is a sentence', () => {
  const error = (over) => orderBody(stockValues(over)).error;
  assert.equal(error({ order_type: 'Stop Market' }), 'Choose an order type: Limit, Market, Stop, Stop Limit, Trailing Stop or Notional Market.');
  const two = [{ symbol: OPT, action: 'Buy to Open', quantity: '1' }, { symbol: '.SPY270115P580', action: 'Sell to Open', quantity: '1' }];
  assert.equal(error({ legs: two, stop_price: '1.00' }), 'A stop order has one leg: an order of 2 legs is a Limit or a Market.');
  assert.equal(error({ legs: two, order_type: 'Stop Limit', price: '1.00', stop_price: '1.00' }), 'A stop limit order has one leg: an order of 2 legs is a Limit or a Market.');
  assert.equal(error({ legs: two, order_type: 'Trailing Stop', trail: { amount: '1' } }), 'A trailing stop order has one leg: an order of 2 legs is a Limit or a Market.');
  assert.equal(orderBody(stockValues({ legs: two, order_type: 'Market' })).error, undefined, 'a multi-leg market order is fine');
  // the stop price
  for (const missing of ['', '  ', undefined, null]) assert.equal(error({ stop_price: missing }), 'A stop order needs a stop price (its trigger).');
  assert.equal(error({ order_type: 'Stop Limit', price: '185.00', stop_price: '' }), 'A stop limit order needs a stop price (its trigger).');
  for (const bad of ['0', '-1', 'abc', '1e3']) assert.equal(error({ stop_price: bad }), 'The stop price must be a positive number, e.g. 2.35.', bad);
  assert.equal(error({ stop_price: '185.505' }), 'The stop price 185.505 is off the tick grid: AAPL trades in steps of 0.01 at that price.');
  assert.equal(error({ legs: [{ symbol: AAPL_OPT, action: 'Sell to Close', quantity: '1' }], stop_price: '4.37' }),
    'The stop price 4.37 is off the tick grid: AAPL 15 Jan 27 200 C trades in steps of 0.05 at that price.');
  // a stop limit's limit price is checked like a limit's
  assert.equal(error({ order_type: 'Stop Limit', stop_price: '185.50', price: '' }), 'The price must be a positive number, e.g. 2.35.');
  assert.match(error({ order_type: 'Stop Limit', stop_price: '185.50', price: '185.001' }), /^The price 185\.001 is off the tick grid/);
  // the trail
  const trailing = (trail) => error({ order_type: 'Trailing Stop', trail });
  const need = 'A trailing stop needs a trail: an amount in dollars (e.g. 1.50) or a percent (e.g. 2.5).';
  for (const missing of [null, undefined, {}, { amount: '' }, { percent: ' ' }, { points: '2' }]) assert.equal(trailing(missing), need, JSON.stringify(missing));
  assert.equal(trailing({ amount: '1.50', percent: '2.5' }), 'A trail is an amount or a percent, not both.');
  assert.equal(trailing({ amount: '1.555' }), 'The trail amount 1.555 is off the tick grid: AAPL trades in steps of 0.01 at that price.');
  for (const bad of ['0', '-1', 'one']) assert.equal(trailing({ amount: bad }), 'The trail amount must be a positive number, e.g. 2.35.', bad);
  for (const bad of ['0', '-2', 'two', '0.0']) assert.equal(trailing({ percent: bad }), 'The trail percent must be a positive number, e.g. 2.5.', bad);
  for (const big of ['100', '100.0', '150']) assert.equal(trailing({ percent: big }), 'The trail percent must be less than 100.', big);
  assert.deepEqual(orderBody(stockValues({ order_type: 'Trailing Stop', trail: { percent: '99.99' } })).body.trail, { percent: '99.99' });
  assert.deepEqual(orderBody(stockValues({ order_type: 'Trailing Stop', trail: { amount: '0.50' } })).body.trail, { amount: '0.50' });
});

test('a stop price starts a tick beyond the market on the protective side: a sell below the bid, a buy above the ask', () => {
  const q = new Map([
    ['AAPL', { bid: 479.5, ask: 479.6 }], [AAPL_OPT, { bid: 4.1, ask: 4.4 }], ['.AAPL270115C210', { bid: 3, ask: 2.99 }],
    ['CHEAP', { bid: 1, ask: 0.9999 }], ['.AAPL270115P100', { bid: 0.01, ask: 0.02 }], ['HALF', { bid: null, ask: 12 }],
  ]);
  const at = (symbol, action) => prefillStopPrice([{ symbol, action, quantity: 1 }], (s) => q.get(s));
  assert.equal(at('AAPL', 'Sell to Close'), '479.49', 'a sell: one tick below the bid');
  assert.equal(at('AAPL', 'Sell to Open'), '479.49');
  assert.equal(at('AAPL', 'Buy to Open'), '479.61', 'a buy: one tick above the ask');
  assert.equal(at('AAPL', 'Buy to Close'), '479.61');
  assert.equal(at(AAPL_OPT, 'Sell to Close'), '4.05', 'an option from 3.00 moves in nickels');
  assert.equal(at(AAPL_OPT, 'Buy to Close'), '4.45');
  assert.equal(at('.AAPL270115C210', 'Sell to Close'), '2.99', 'below 3.00 the finer tick');
  assert.equal(at('.AAPL270115C210', 'Buy to Open'), '3.00');
  assert.equal(at('CHEAP', 'Sell to Close'), '0.9999', 'stock below 1.00 in 0.0001');
  assert.equal(at('CHEAP', 'Buy to Open'), '1.00');
  assert.equal(at('.AAPL270115P100', 'Sell to Close'), null, 'no stop below one tick');
  assert.equal(at('HALF', 'Sell to Close'), null, 'no bid: nothing made up');
  assert.equal(at('HALF', 'Buy to Open'), '12.01');
  assert.equal(at('NOQUOTE', 'Buy to Open'), null);
  assert.equal(prefillStopPrice([{ symbol: 'AAPL', action: 'Sell to Close', quantity: 1 }, { symbol: AAPL_OPT, action: 'Buy to Open', quantity: 1 }], (s) => q.get(s)), null, 'a stop has one leg');
  // the step itself, at the grid's boundaries
  assert.equal(tickBeyond('AAPL', 1, false), '0.9999');
  assert.equal(tickBeyond('AAPL', 0.9999, true), '1.00');
  assert.equal(tickBeyond(AAPL_OPT, 3.05, false), '3.00');
  assert.equal(tickBeyond(OPT, 12.34, true), '12.35', 'SPY options in pennies throughout');
});

test('an order frame\'s type in the contract\'s words or a broker\'s own', () => {
  for (const [t, want] of [['Stop', 'Stop'], ['stop', 'Stop'], ['Stop Limit', 'Stop Limit'], ['stop_limit', 'Stop Limit'],
    ['Trailing Stop', 'Trailing Stop'], ['trailing_stop', 'Trailing Stop'], ['market', 'Market'], ['Limit', 'Limit'],
    ['Marketable Limit', 'Limit'], ['debit', 'Limit'], ['', 'Limit'], [undefined, 'Limit']]) {
    assert.equal(contractOrderType(t), want, String(t));
  }
});

test('Replace… of a stop limit and a trailing stop keeps its type, stop price and trail', () => {
  const stopLimit = {
    id: '501', order_type: 'Stop Limit', broker_type: 'Stop Limit', price: 185, stop_price: 185.5, trail: null, time_in_force: 'GTC',
    legs: [{ symbol: 'AAPL', action: 'Sell to Close', quantity: 10, remaining_quantity: 10 }],
  };
  const d = fromOrder(stopLimit, 3, '5WT00001');
  assert.deepEqual([d.order_type, d.price, d.stop_price, d.trail, d.time_in_force], ['Stop Limit', '185.00', '185.50', null, 'GTC']);
  assert.deepEqual(orderBody({ ...d, legs: d.legs.map((l) => ({ ...l, quantity: String(l.quantity) })) }).body, {
    link: 3, account: '5WT00001', legs: [{ symbol: 'AAPL', action: 'Sell to Close', quantity: 10 }], order_type: 'Stop Limit',
    price: '185.00', stop_price: '185.50', trail: null, time_in_force: 'GTC', replaces: '501',
  });
  // a broker's own words (Tradier's stop_limit, an option's OCC symbol)
  const tradier = fromOrder({ ...stopLimit, order_type: 'stop_limit', price: 4.1, stop_price: 4.2, legs: [{ symbol: 'AAPL270115C00200000', action: 'sell_to_close', quantity: 1 }] }, 4, 'VA000001');
  assert.deepEqual([tradier.order_type, tradier.price, tradier.stop_price, tradier.legs[0].symbol], ['Stop Limit', '4.10', '4.20', AAPL_OPT]);
  const stop = fromOrder({ ...stopLimit, order_type: 'stop', price: null }, 4, 'VA000001');
  assert.deepEqual([stop.order_type, stop.price, stop.stop_price], ['Stop', null, '185.50']);

  const trailing = {
    id: 'a-9', order_type: 'Trailing Stop', broker_type: 'trailing_stop', price: null, stop_price: 186.02, time_in_force: 'day',
    trail: { amount: 1.5, percent: null, high_water_mark: 187.52 }, legs: [{ symbol: 'AAPL', action: 'sell', quantity: 10 }],
  };
  const t = fromOrder(trailing, 5, 'PA000001');
  assert.deepEqual([t.order_type, t.price, t.stop_price, t.trail, t.time_in_force], ['Trailing Stop', null, null, { amount: '1.50' }, 'Day'],
    'where the stop stands now is not sent back');
  assert.deepEqual(orderBody({ ...t, legs: t.legs.map((l) => ({ ...l, quantity: String(l.quantity) })) }).body.trail, { amount: '1.50' });
  const pct = fromOrder({ ...trailing, order_type: 'trailing_stop', trail: { amount: null, percent: 2.5, high_water_mark: null } }, 5, 'PA000001');
  assert.deepEqual([pct.order_type, pct.trail], ['Trailing Stop', { percent: '2.5' }]);
  assert.deepEqual(fromOrder({ ...trailing, trail: { amount: null, percent: '2.50' } }, 5, 'PA000001').trail, { percent: '2.5' });
  // a limit's frame keeps none of them
  const limit = fromOrder({ ...stopLimit, order_type: 'Limit', stop_price: null }, 3, '5WT00001');
  assert.deepEqual([limit.order_type, limit.stop_price, limit.trail], ['Limit', null, null]);
});

test('a preview whose stop would trigger at once asks for a second confirm; its warning stands out', () => {
  assert.match(FLAT, /A preview that needs the second confirm has `second_confirm: true`; its confirm must carry `"second_confirm": true`/);
  const atOnce = 'This sell stop at 480.00 is at or above the bid 479.50: it would trigger at once.';
  const far = 'The limit 2.00 is more than 10% from the mid 2.33.';
  assert.equal(needsSecondConfirm({ second_confirm: true }), true);
  assert.equal(needsSecondConfirm({ second_confirm: false }), false);
  assert.equal(needsSecondConfirm({}), false);
  assert.equal(needsSecondConfirm(null), false);
  assert.deepEqual(previewWarnings({ second_confirm: true, warnings: [far, atOnce] }), [{ text: far, strong: false }, { text: atOnce, strong: true }]);
  assert.deepEqual(previewWarnings({ second_confirm: false, warnings: [far] }), [{ text: far, strong: false }]);
  assert.deepEqual(previewWarnings({ second_confirm: true, warnings: ['Worded otherwise.'] }), [{ text: 'Worded otherwise.', strong: true }], 'none says it: each stands out');
  assert.deepEqual(previewWarnings({ second_confirm: true }), []);
  assert.match(SECOND_CONFIRM_TEXT, /Read the warning above: Confirm anyway/);
});

test('exits with an opening order make a bracket (both) or an OTO (one): the contract\'s linked body', () => {
  const values = {
    account: { link: 3, account: '5WT00001' }, legs: [{ symbol: 'SPY', action: 'Buy to Open', quantity: '100' }],
    order_type: 'Limit', price: '480.00', time_in_force: 'Day', replaces: null, exits: { take: '500.00', stop: '460.00' },
  };
  const bracket = orderBody(values).body;
  // the contract's example, key for key (it gives the exits GTC; the ticket: the entry's)
  const example = JSON.parse(DOC.split('### Linked orders')[1].split('```json')[1].split('```')[0]);
  const gtc = (o) => ({ ...o, time_in_force: 'GTC' });
  assert.deepEqual({ ...bracket, orders: bracket.orders.map(gtc) }, {
    ...example,
    trigger: { ...example.trigger, stop_price: null, trail: null },
    orders: [{ ...example.orders[0], stop_price: null, trail: null }, { ...example.orders[1], price: null, trail: null }],
  });
  const oto = orderBody({ ...values, exits: { take: '', stop: '460.00' } }).body;
  assert.equal(oto.complex, 'OTO');
  assert.deepEqual(oto.orders.map((o) => [o.order_type, o.legs[0].action, o.legs[0].quantity]), [['Stop', 'Sell to Close', 100]]);
  const short = orderBody({ ...values, legs: [{ symbol: 'SPY', action: 'Sell to Open', quantity: '5' }] }).body;
  assert.deepEqual(short.orders.map((o) => o.legs[0].action), ['Buy to Close', 'Buy to Close']);
  // no exits given: the order alone
  assert.equal(orderBody({ ...values, exits: { take: '', stop: ' ' } }).body.complex, undefined);
  assert.match(orderBody({ ...values, exits: { take: '500.001', stop: '' } }).error, /take-profit price.*tick grid|tick grid/);
});

test('Protect… closes the whole position: a take-profit, a stop-loss or an OCO of both', () => {
  const acct = { link: 3, number: '5WT00001', broker: 'tastytrade' };
  const draft = protectPosition({ symbol: 'SPY', streamer_symbol: 'SPY', direction: 'Long', quantity: 100 }, acct);
  assert.deepEqual([draft.title, draft.protect, draft.accountFixed, draft.legs], [
    'Protect SPY', true, true, [{ symbol: 'SPY', action: 'Sell to Close', quantity: 100 }],
  ]);
  const values = { account: draft.account, legs: draft.legs, time_in_force: 'GTC', protect: true };
  const oco = orderBody({ ...values, exits: { take: '500.00', stop: '460.00' } }).body;
  assert.deepEqual([oco.complex, oco.trigger, oco.orders.map((o) => o.order_type)], ['OCO', undefined, ['Limit', 'Stop']]);
  const stop = orderBody({ ...values, exits: { take: '', stop: '460.00' } }).body;
  assert.deepEqual([stop.order_type, stop.stop_price, stop.legs[0].action, stop.replaces], ['Stop', '460.00', 'Sell to Close', null]);
  assert.equal(orderBody({ ...values, exits: { take: '', stop: '' } }).error, 'Give a take-profit price, a stop-loss price, or both.');
  const short = protectPosition({ symbol: 'QQQ', streamer_symbol: 'QQQ', direction: 'Short', quantity: -7 }, acct);
  assert.deepEqual(short.legs, [{ symbol: 'QQQ', action: 'Buy to Close', quantity: 7 }]);
});

test('Protect… starts both exits 5 % from the mark on the tick grid: the take-profit where the position gains', () => {
  const acct = { link: 3, number: '5WT00001', broker: 'tastytrade' };
  const quotes = { SPY: { bid: 479.9, ask: 480.1 }, [OPT]: { bid: 2.9, ask: 3.1 } };
  const quote = (s) => quotes[s];
  const long = protectPosition({ symbol: 'SPY', streamer_symbol: 'SPY', direction: 'Long', quantity: 100, mark_price: 470 }, acct, quote);
  assert.deepEqual(long.exits, { take: '504.00', stop: '456.00' }); // from the mid 480.00, not the broker's mark
  const short = protectPosition({ symbol: 'SPY', streamer_symbol: 'SPY', direction: 'Short', quantity: -5, mark_price: 470 }, acct, quote);
  assert.deepEqual(short.exits, { take: '456.00', stop: '504.00' }); // a short gains as the price falls
  const noQuote = protectPosition({ symbol: 'QQQ', streamer_symbol: 'QQQ', direction: 'Long', quantity: 1, mark_price: 400.02 }, acct, quote);
  assert.deepEqual(noQuote.exits, { take: '420.02', stop: '380.02' }); // the broker's mark, without a quote
  assert.equal(protectPosition({ symbol: 'QQQ', streamer_symbol: 'QQQ', direction: 'Long', quantity: 1 }, acct, quote).exits, null);
  // an option's grid: 0.05 from 3.00 (3.36 is 3.35, 3.04 is 3.05), and a tick away where 5 % is less than one
  assert.deepEqual(protectPrices({ symbol: '.AAPL270115C190', action: 'Sell to Close' }, 3.2), { take: '3.35', stop: '3.05' });
  assert.deepEqual(protectPrices({ symbol: 'SPY', action: 'Sell to Close' }, 0.1), { take: '0.1050', stop: '0.0950' });
  assert.deepEqual(protectPrices({ symbol: OPT, action: 'Sell to Close' }, 0.05), { take: '0.06', stop: '0.04' });
  assert.equal(protectPrices({ symbol: 'SPY', action: 'Sell to Close' }, null), null);
});

test('exits are offered where the broker links such orders', () => {
  const stock = [{ symbol: 'SPY', action: 'Buy to Open', quantity: 1 }];
  const option = [{ symbol: OPT, action: 'Buy to Open', quantity: 1 }];
  assert.equal(exitsOffered('tastytrade', stock, 'Limit'), true);
  assert.equal(exitsOffered('tastytrade', option, 'Market'), true);
  assert.equal(exitsOffered('tradier', stock, 'Market'), false); // Tradier's trigger is a Limit
  assert.equal(exitsOffered('alpaca', option, 'Limit'), false); // Alpaca links stock only
  assert.equal(exitsOffered('alpaca', stock, 'Stop'), false);
  assert.equal(exitsOffered('tastytrade', [{ ...stock[0], action: 'Sell to Close' }], 'Limit'), false);
  assert.equal(exitsOffered('tastytrade', [{ ...stock[0], action: 'Sell to Close' }], 'Limit', true), true);
  assert.equal(exitsOffered('tastytrade', [...option, { symbol: '.SPY270115C600', action: 'Sell to Open', quantity: 1 }], 'Limit'), false);
  assert.equal(exitsOffered('', stock, 'Limit'), false);
});

test('Roll… is offered for an equity option where the broker takes multi-leg orders', () => {
  const call = { symbol: 'SPY   270115C00590000', streamer_symbol: '.SPY270115C590', instrument_type: 'Equity Option', quantity: 1 };
  assert.deepEqual(['tastytrade', 'tradier', 'alpaca'].map((b) => rollOffered(b, call)), [true, true, false]);
});

test('parts of a share where the broker takes them (Alpaca, stock), whole elsewhere; said in words', () => {
  assert.match(FLAT, /\| Alpaca \| stock \| Limit, Market, Stop, Stop Limit, Trailing Stop, Notional Market \| Day, GTC \| 1 leg; a part of a share in a Market, Limit, Stop or Stop Limit order for the Day, never sold short; linked \(whole shares\) \|/);
  const stock = [{ symbol: 'AAPL', action: 'Buy to Open', quantity: 1 }];
  assert.equal(brokerOffers('alpaca', stock).fractional, true);
  assert.equal(brokerOffers('alpaca', [{ ...stock[0], symbol: OPT }]).fractional, false, 'options: whole contracts');
  for (const b of ['tastytrade', 'tradier', '']) assert.equal(brokerOffers(b, stock).fractional, false, b);
  const half = (over = {}) => orderBody(stockValues({
    order_type: 'Limit', price: '190.00', time_in_force: 'Day',
    legs: [{ symbol: 'AAPL', action: 'Buy to Open', quantity: ' 0.5 ' }], ...over,
  }));
  assert.equal(half().error, 'The quantity must be a whole number from 1 to 1,000,000.', 'no broker that takes parts');
  const made = half({ fractional: true });
  assert.deepEqual(made.body.legs, [{ symbol: 'AAPL', action: 'Buy to Open', quantity: '0.5' }], 'exact, as its decimal string');
  assert.deepEqual(half({ fractional: true, legs: [{ symbol: 'AAPL', action: 'Buy to Open', quantity: '3' }] }).body.legs[0].quantity, 3);
  const parts = 'The quantity must be more than 0 and at most 1,000,000, with at most 9 decimals.';
  for (const q of ['0', '-1', 'abc', '0.0000000001', '1000001', '']) {
    assert.equal(half({ fractional: true, legs: [{ symbol: 'AAPL', action: 'Buy to Open', quantity: q }] }).error, parts, q);
  }
});

test('a dollar amount is a Notional Market order: one stock leg without a quantity, in cents', () => {
  assert.match(FLAT, /`Notional Market`: a dollar amount of a stock at market, `notional`/);
  const dollars = (notional, over = {}) => orderBody(stockValues({
    order_type: 'Notional Market', time_in_force: 'Day', notional, price: '190.00', stop_price: '185.00',
    legs: [{ symbol: 'AAPL', action: 'Buy to Open', quantity: '' }], ...over,
  }));
  const made = dollars(' 250.5 ');
  assert.deepEqual(made.body, {
    link: STOCK.link, account: STOCK.account, legs: [{ symbol: 'AAPL', action: 'Buy to Open' }],
    order_type: 'Notional Market', price: null, stop_price: null, trail: null, notional: '250.50',
    time_in_force: 'Day', replaces: null,
  });
  assert.equal(dollars('').error, 'A notional market order needs a dollar amount, e.g. 250.00.');
  assert.equal(dollars('0.50').error, 'The dollar amount must be at least 1.00.');
  assert.equal(dollars('10.005').error, 'The dollar amount is in cents: 10.005 is not.');
  assert.equal(dollars('ten').error, 'The dollar amount must be a positive number, e.g. 250.00.');
  // what a position's Close… sends for part of a share: the exact quantity, not a whole one
  const acct = accounts.get('5WT00001');
  const close = fromPosition({ symbol: 'AAPL', streamer_symbol: 'AAPL', direction: 'Long', quantity: 0.75 }, acct, quote, 'close');
  assert.deepEqual(close.legs, [{ symbol: 'AAPL', action: 'Sell to Close', quantity: 0.75 }]);
});
