// The /trading page's words (static/js/trading/words.js): the switch and its
// countdown, what turning it on asks for, links, limits, the kill switch per broker and
// the audit trail's rows. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  answerError, countdown, entryRow, factorBody, factorField, killSwitchWords, limitsWords, linkRows, saidWords, stateWords,
} from '../../../static/js/trading/words.js';
import { setTimeZone } from '../../../static/js/stream/format.js';

const T = Date.UTC(2026, 10, 26, 13, 0, 0);
const trading = (extra = {}) => ({
  on: false, until: null, second_factor: 'password', links: [], killed_at: null,
  limits: { max_order_notional: 100000, max_orders_per_minute: 10 }, ...extra,
});

test('the countdown to the window end: m:ss, h:mm:ss, never negative', () => {
  assert.equal(countdown(T + 59_000, T), '0:59');
  assert.equal(countdown(T + 3_599_000, T), '59:59');
  assert.equal(countdown(T + 3_600_000, T), '1:00:00');
  assert.equal(countdown(T + 1_500, T), '0:02'); // a started second still counts
  assert.equal(countdown(T - 5_000, T), '0:00');
});

test('the state in words: on until, off, off by the kill switch; times in the trader\'s zone, named', () => {
  // no zone chosen: New York's (the market's clock), whatever the browser's
  assert.deepEqual(stateWords(trading({ on: true, until: T + 600_000 }), T),
    { on: true, headline: 'Trading is on until 08:10:00 EST.', left: '10:00 left' });
  assert.deepEqual(stateWords(trading(), T), { on: false, headline: 'Trading is off.', left: '' });
  assert.deepEqual(stateWords(trading({ killed_at: T - 60_000 }), T),
    { on: false, headline: 'Trading is off: the kill switch turned it off on Nov 26, 07:59:00 EST.', left: '' });
  // the window ended while the page was open: off, whatever the last answer said
  assert.equal(stateWords(trading({ on: true, until: T - 1 }), T).on, false);
  setTimeZone('Europe/London');
  try {
    assert.equal(stateWords(trading({ on: true, until: T + 600_000 }), T).headline, 'Trading is on until 13:10:00 GMT.');
  } finally {
    setTimeZone('');
  }
});

test('turning on asks for the code with an authenticator, else the password', () => {
  assert.equal(factorField(trading({ second_factor: 'totp' })).name, 'otp');
  assert.equal(factorField(trading()).name, 'password');
  assert.deepEqual(factorBody('otp', ' 123 456 '), { body: { otp: '123456' } });
  assert.deepEqual(factorBody('otp', '12345'), { error: 'Enter the 6 digits your authenticator shows.' });
  assert.deepEqual(factorBody('password', ''), { error: 'Enter your password.' });
  assert.deepEqual(factorBody('password', ' p w '), { body: { password: ' p w ' } });
});

test('links and limits in words', () => {
  assert.equal(limitsWords({ max_order_notional: 2500, max_orders_per_minute: 1 }),
    'Your own limits, where staff set none for a link: at most 2,500.00 USD per order and 1 order per minute.');
  assert.deepEqual(linkRows([
    { link: 3, broker: 'tradier', label: 'IRA', accounts: ['VA1', 'VA2'], enabled: true, limits: { max_order_notional: 2500, max_orders_per_minute: 1 } },
    { link: 4, broker: 'alpaca', label: 'Paper', accounts: [], enabled: false },
  ]), [
    { link: 3, title: 'Tradier · IRA', accounts: 'VA1, VA2', trading: 'Enabled by staff', limits: '2,500.00 USD per order, 1 order per minute' },
    { link: 4, title: 'Alpaca · Paper', accounts: '—', trading: 'Not enabled (staff enable it in the admin)', limits: '—' },
  ]);
});

test('the kill switch result per broker, failures named', () => {
  const answer = {
    results: [
      { link: 1, broker: 'tastytrade', label: 'Main', account: null, cancelled: ['11'], failed: [], error: null },
      { link: 2, broker: 'alpaca', label: 'Paper', account: 'PA1', cancelled: [], failed: [{ order_id: 'a-1', error: 'filled' }], error: null },
      { link: 3, broker: 'tradier', label: 'IRA', account: null, cancelled: [], failed: [], error: 'Tradier did not answer.' },
    ],
    trading: trading(),
  };
  assert.deepEqual(killSwitchWords(answer), {
    failed: true,
    headline: 'Kill switch: trading is off; some orders were not cancelled.',
    lines: [
      'tastytrade · Main: 1 order cancelled (11)',
      'Alpaca · Paper PA1: no working order; not cancelled: a-1 (filled)',
      'Tradier · IRA: Tradier did not answer.',
    ],
  });
  assert.deepEqual(killSwitchWords({ results: [] }),
    { failed: false, headline: 'Kill switch: trading is off.', lines: ['No broker is linked: nothing to cancel.'] });
});

test('an audit entry as a row', () => {
  const entry = {
    id: 7, at: T, action: 'trading_on', user: 'tess', link: 3, account: '5WT1', ticket: null,
    ip: '127.0.0.1', session: 'abcdef012345', shown: 'Turn trading on', said: { status: 'Received', message: 'ok' }, outcome: 'on with password',
  };
  assert.deepEqual(entryRow(entry), {
    id: 7, at: 'Nov 26, 08:00:00 EST', action: 'Trading on', who: 'tess', where: 'link 3 · 5WT1', shown: 'Turn trading on',
    said: 'Received: ok', saidFull: '{"status":"Received","message":"ok"}', outcome: 'on with password',
    from: '127.0.0.1 · session abcdef012345',
  });
  assert.equal(entryRow({ ...entry, action: 'teleport', link: null, account: '', ip: null, session: '', said: {} }).action, 'teleport');
  assert.equal(saidWords({ code: 3 }), '{"code":3}');
  // a long answer without a status or a message is cut to a line (the full one is the row's title)
  const long = { checks: 'broker', broker: { 'buying-power-effect': { change: 1475.82, impact: 'x'.repeat(200) } } };
  assert.equal(saidWords(long).length, 81);
  assert.ok(saidWords(long).endsWith('…'));
  assert.equal(entryRow({ ...entry, link: 1, link_label: 'tastytrade · Main', account: '5WT1' }).where, 'tastytrade · Main · 5WT1');
  assert.equal(entryRow({ ...entry, link: 1, link_label: '', account: '5WT1' }).where, 'link 1 · 5WT1');
});

test('a refused request says the server sentence', () => {
  assert.equal(answerError(403, { error: 'That password is not right.', code: 'second_factor' }), 'That password is not right.');
  assert.equal(answerError(403, { code: 'csrf' }), 'The page is out of date: reload it and try again.');
  assert.equal(answerError(502, null), 'The server answered 502.');
});
