// Price alerts in the browser: the reducer's `alert` frames (account-class: seq, gap,
// resume, dedupe by id) and static/js/stream/alerts.js. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { ACCOUNT_FRAMES } from '../../static/js/stream/contract.js';
import { adoptAlerts, applyFrame, applySnapshot, initialState, resumePosition, takeEffects } from '../../static/js/stream/state.js';
import { alertBody, alertDistance, alertPrice, conditionText, errorSentence } from '../../static/js/stream/alerts.js';

const T = 1_760_000_000_000;
const payload = (id, extra = {}) => ({ id, alert_id: 7, symbol: 'AAPL', condition: 'above', level: 200, price: 201.3, at: T, message: 'AAPL rose to 201.30, above 200.00', rearm: false, ...extra });
const frame = (seq, alert, epoch = 'E1') => ({ type: 'alert', epoch, seq, t: T, simulated: true, account: '', link: 0, alert });
const active = (id, extra = {}) => ({ id, symbol: 'AAPL', condition: 'above', level: 200, rearm: false, expires_at: null, active: true, armed: true, crossings: 0, ...extra });
const snap = (extra = {}) => ({
  type: 'snapshot', epoch: 'E1', seq: 5, simulated: true, accounts: [], quotes: {}, greeks: {}, orders: [], links: [],
  watchlist: { symbols: [], version: 1 }, subscriptions: ['AAPL'], alerts: [active(7), active(8, { rearm: true })],
  alert_triggers: [payload(3), payload(2), payload(3)], t: T, ...extra,
});

test('alert is an account frame: numbered, gaps resync with the position, duplicates ignored', () => {
  assert.ok(ACCOUNT_FRAMES.has('alert'));
  let s = applySnapshot(initialState(), snap(), 'stream');
  assert.deepEqual(s.alertTriggers.map((t) => t.id), [3, 2]); // one per id
  s = applyFrame(s, frame(6, payload(10)));
  let effects;
  [s, effects] = takeEffects(s);
  assert.equal(s.seq, 6);
  assert.deepEqual(effects, [{ type: 'alert', alert: payload(10) }]);
  assert.deepEqual(s.alertTriggers.map((t) => t.id), [10, 3, 2]);
  assert.deepEqual(s.alerts.map((a) => a.id), [8]); // the once alert is done
  // the same trigger again (a new owner re-sent it) under a new seq: seq moves, nothing else
  [s, effects] = takeEffects(applyFrame(s, frame(7, payload(10))));
  assert.equal(s.seq, 7);
  assert.deepEqual(effects, []);
  assert.equal(s.alertTriggers.length, 3);
  // a replayed seq: a duplicate
  assert.equal(applyFrame(s, frame(7, payload(11))).alertTriggers, s.alertTriggers);
  // a gap: resync from our position
  [s, effects] = takeEffects(applyFrame(s, frame(9, payload(12))));
  assert.equal(effects[0].type, 'resync');
  assert.equal(effects[0].resume, true);
  assert.equal(resumePosition(s), 'E1:7');
});

test('a re-arming alert stays active, disarmed; at most 50 triggers are kept', () => {
  let s = applySnapshot(initialState(), snap({ alert_triggers: [] }), 'stream');
  s = applyFrame(s, frame(6, payload(20, { alert_id: 8, rearm: true })));
  assert.deepEqual(s.alerts.map((a) => [a.id, a.armed, a.crossings]), [[7, true, 0], [8, false, 1]]);
  for (let i = 0; i < 60; i++) s = applyFrame(s, frame(7 + i, payload(100 + i, { alert_id: 99 })));
  assert.equal(s.alertTriggers.length, 50);
  assert.equal(s.alertTriggers[0].id, 159);
  assert.deepEqual(adoptAlerts(s, [active(1), active(2, { active: false })]).alerts.map((a) => a.id), [1]);
});

test('an alert frame waits for its snapshot like any account frame', () => {
  let s = applyFrame(initialState(), { type: 'hello', epoch: 'E1', seq: 5 });
  s = applyFrame(s, frame(6, payload(30)));
  assert.deepEqual(s.alertTriggers, []);
  s = applySnapshot(s, snap({ alert_triggers: [] }), 'stream');
  assert.deepEqual(s.alertTriggers.map((t) => t.id), [30]);
});

test('price basis and distance to the level', () => {
  assert.equal(alertPrice({ last: 201.3, bid: 1, ask: 2 }), 201.3);
  assert.equal(alertPrice({ last: null, bid: 100, ask: 102 }), 101);
  assert.equal(alertPrice({ bid: 100 }), null);
  assert.deepEqual(alertDistance(active(1), { last: 198.7 }), { price: 198.7, text: '+1.30 (+0.65%) to go' });
  assert.deepEqual(alertDistance(active(1), { last: 200 }), { price: 200, text: 'reached' });
  assert.deepEqual(alertDistance(active(1, { condition: 'below', level: 100 }), { last: 101 }), { price: 101, text: '−1.00 (−0.99%) to go' });
  assert.deepEqual(alertDistance(active(1, { condition: 'move_up', level: 5 }), { last: 103, prev_close: 100 }), { price: 103, text: '+3.00% now, 2.00 pts to go' });
  assert.deepEqual(alertDistance(active(1, { condition: 'move_down', level: 2 }), { last: 97, prev_close: 100 }), { price: 97, text: '−3.00%: reached' });
  assert.deepEqual(alertDistance(active(1, { condition: 'move_down', level: 2 }), { last: 97 }), { price: 97, text: 'no previous close' });
  assert.deepEqual(alertDistance(active(1), null), { price: null, text: '—' });
  assert.equal(conditionText(active(1, { level: 1234.5 })), 'above 1,234.50');
  assert.equal(conditionText(active(1, { condition: 'move_down', level: 3 })), 'down 3.00% from the previous close');
});

test('the form becomes the API body; the expiry is sent with its zone', () => {
  assert.deepEqual(alertBody({ symbol: ' aapl ', condition: 'above', level: ' 200.5 ', rearm: true, expires: '' }), {
    body: { symbol: 'AAPL', condition: 'above', level: '200.5', rearm: true, expires_at: null },
  });
  const { body } = alertBody({ symbol: 'spy', condition: 'below', level: '1', expires: '2030-01-02T03:04' }, () => new Date(Date.UTC(2030, 0, 2, 2, 4)));
  assert.equal(body.expires_at, '2030-01-02T02:04:00.000Z');
  // the expiry is typed in the zone the page shows (New York's unless chosen), not the browser's
  const typed = alertBody({ symbol: 'spy', condition: 'above', level: '1', expires: '2027-01-15T10:04' });
  assert.equal(typed.body.expires_at, '2027-01-15T15:04:00.000Z');
  assert.deepEqual(alertBody({ symbol: '', condition: 'above', level: '1' }), { error: 'Enter a symbol.' });
  assert.deepEqual(alertBody({ symbol: 'A', condition: 'move_up', level: '' }), { error: 'Enter the % move.' });
  assert.deepEqual(alertBody({ symbol: 'A', condition: 'above', level: '1', expires: 'x' }, () => new Date('x')), { error: 'The expiry is not a date and time.' });
  assert.equal(errorSentence(400, { error: 'the price must be greater than 0' }), 'The price must be greater than 0.');
  assert.equal(errorSentence(403, null), 'You are not logged in (or the page is too old): reload it.');
  assert.equal(errorSentence(502, {}), 'The alert could not be saved (HTTP 502).');
});
