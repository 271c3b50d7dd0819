// Portfolio limits in the browser: the `limit` frame (account-class: numbered, no account
// of its own), its notification (deduped by id, once per browser across tabs) and the
// settings form's checks (static/js/risk/limits-form.js). Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { ACCOUNT_FRAMES, MAX_LIMIT_BREACHES } from '../../static/js/stream/contract.js';
import { applyFrame, applySnapshot, initialState } from '../../static/js/stream/state.js';
import { claim, createTracker, deriveEvents, notificationText, settingsOf, wanted } from '../../static/js/stream/notify.js';
import { notifyingTab } from './tools/notifying-tab.mjs';
import { limitsBody, saveLimits } from '../../static/js/risk/limits-form.js';

const T = 1_760_000_000_000;
const breach = (id, extra = {}) => ({ id, kind: 'daily_loss', value: -1204.5, limit: 1000, at: T, message: 'Day P&L −1,204.50 USD is past your daily loss limit of 1,000.00 USD', ...extra });
const frame = (seq, limit, epoch = 'E1') => ({ type: 'limit', epoch, seq, t: T, simulated: true, account: '', link: 0, limit });
const snap = (extra = {}) => ({ type: 'snapshot', epoch: 'E1', seq: 5, simulated: true, accounts: [], quotes: {}, greeks: {}, orders: [], links: [], watchlist: { symbols: [], version: 1 }, subscriptions: [], alerts: [], alert_triggers: [], limit_breaches: [], t: T, ...extra });

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)) };
}

test('limit is an account frame: numbered, makes no account, a gap resyncs', () => {
  assert.ok(ACCOUNT_FRAMES.has('limit'));
  let s = applySnapshot(initialState(), snap(), 'stream');
  s = applyFrame(s, frame(6, breach(1)));
  assert.equal(s.seq, 6);
  assert.equal(s.accounts.size, 0);
  s = applyFrame(s, frame(8, breach(2)));
  assert.equal(s.seq, 6); // 7 is missing
  assert.ok(s.awaitingSnapshot);
});

test('a limit frame raises one event per breach id, a repeat (failover) none', () => {
  let tracker = createTracker();
  const prev = applySnapshot(initialState(), snap(), 'stream');
  const next = applyFrame(prev, frame(6, breach(1)));
  let events;
  ({ tracker, events } = deriveEvents(tracker, prev, next, frame(6, breach(1))));
  assert.deepEqual(events.map((e) => e.key), ['limit:1']);
  assert.equal(events[0].kind, 'limit');
  assert.equal(events[0].limitKind, 'daily_loss');
  assert.equal(events[0].value, -1204.5);
  const again = applyFrame(next, frame(7, breach(1)));
  ({ tracker, events } = deriveEvents(tracker, next, again, frame(7, breach(1))));
  assert.deepEqual(events, []);
  ({ events } = deriveEvents(tracker, again, applyFrame(again, frame(8, breach(2, { kind: 'beta_delta_above' }))), frame(8, breach(2, { kind: 'beta_delta_above' }))));
  assert.deepEqual(events.map((e) => e.key), ['limit:2']);
});

/** The keys of what a tab (tools/notifying-tab.mjs) raised. */
const raised = (t) => t.events.map((e) => e.key);

test('the reducer keeps the breaches: the snapshot\'s once per id, newest first, then each frame\'s', () => {
  const many = Array.from({ length: MAX_LIMIT_BREACHES + 3 }, (_, i) => breach(MAX_LIMIT_BREACHES + 3 - i));
  let s = applySnapshot(initialState(), snap({ limit_breaches: [breach(2), breach(2), ...many] }), 'stream');
  assert.equal(s.limitBreaches.length, MAX_LIMIT_BREACHES);
  assert.deepEqual(s.limitBreaches.slice(0, 3).map((b) => b.id), [2, MAX_LIMIT_BREACHES + 3, MAX_LIMIT_BREACHES + 2]);
  s = applyFrame(s, frame(6, breach(100)));
  s = applyFrame(s, frame(7, breach(100))); // a failover's resend
  assert.deepEqual(s.limitBreaches.slice(0, 2).map((b) => b.id), [100, 2]);
  assert.equal(s.limitBreaches.length, MAX_LIMIT_BREACHES);
  assert.deepEqual(s.alertTriggers, []);
});

test('a breach first seen in a resync snapshot notifies once, oldest first; one the tab knew does not', () => {
  const t = notifyingTab(snap({ limit_breaches: [breach(1)] }));
  t.feed(frame(6, breach(2))); // live
  t.feed( // a gap: the tab resyncs from a snapshot that lists breaches it never got as frames
    { type: 'hello', epoch: 'E2', seq: 9 },
    snap({ epoch: 'E2', seq: 9, limit_breaches: [breach(4), breach(3), breach(2), breach(1)] }),
  );
  assert.deepEqual(raised(t), ['limit:2', 'limit:3', 'limit:4']);
  assert.deepEqual(t.state.limitBreaches.map((b) => b.id), [4, 3, 2, 1]);
  t.feed( // the same breaches again: a later resync, and a new owner's resend as a frame
    snap({ epoch: 'E2', seq: 9, limit_breaches: [breach(4), breach(3)] }),
    frame(10, breach(4), 'E2'),
  );
  assert.deepEqual(raised(t), ['limit:2', 'limit:3', 'limit:4']);
});

test('on first load the breaches listed are history, not news (as alert triggers)', () => {
  assert.deepEqual(raised(notifyingTab(snap({ limit_breaches: [breach(5)] }))), []);
  // a page rendered before the stream answered (no epoch): the stream's first snapshot is the baseline
  const t = notifyingTab(snap({ epoch: null, seq: 0 }));
  t.feed({ type: 'hello', epoch: 'E1', seq: 5 }, snap({ limit_breaches: [breach(5)] }));
  assert.deepEqual(raised(t), []);
  t.feed(frame(6, breach(6)));
  assert.deepEqual(raised(t), ['limit:6']);
});

test('the text names the limit and says the sentence; the alerts setting turns limits on and off', () => {
  const [e] = deriveEvents(createTracker(), initialState(), initialState(), frame(1, breach(4))).events;
  assert.deepEqual(notificationText(e), { title: 'Limit: Daily loss limit reached', body: breach(4).message });
  const above = deriveEvents(createTracker(), initialState(), initialState(), frame(1, breach(5, { kind: 'beta_delta_above', message: 'x' }))).events[0];
  assert.equal(notificationText(above).title, 'Limit: β-weighted delta above your limit');
  assert.equal(wanted(e, settingsOf({})), true);
  assert.equal(wanted(e, settingsOf({ alerts: false })), false);
});

test('once per browser: two tabs (and a reload) share one claim of the key', () => {
  const storage = memoryStorage();
  assert.equal(claim(storage, 'demo', 'limit:9', T), true); // tab 1 raises it
  assert.equal(claim(storage, 'demo', 'limit:9', T + 5), false); // tab 2 does not
  assert.equal(claim(storage, 'demo', 'limit:9', T + 60_000), false); // nor a reload
});

test('the form: empty is off, numbers rounded to cents, the server\'s refusals said first', () => {
  assert.deepEqual(limitsBody({ beta_delta_min: '-200', beta_delta_max: '150.456', daily_loss: '' }), { body: { beta_delta_min: -200, beta_delta_max: 150.46, daily_loss: null } });
  assert.match(limitsBody({ beta_delta_min: '10', beta_delta_max: '5' }).error, /must not be greater/);
  assert.match(limitsBody({ daily_loss: '-1' }).error, /positive/);
  assert.match(limitsBody({ daily_loss: '0' }).error, /positive/);
  assert.match(limitsBody({ beta_delta_max: 'lots' }).error, /must be a number/);
  assert.match(limitsBody({ beta_delta_max: '1e12' }).error, /within/);
  assert.match(limitsBody({ daily_loss: '1e10' }).error, /at most/);
});

test('saveLimits: PUT with the CSRF header; a refusal is the server\'s sentence', async () => {
  const calls = [];
  const ok = async (url, init) => { calls.push([url, init]); return { ok: true, status: 200, json: async () => ({ daily_loss: 5 }) }; };
  assert.deepEqual(await saveLimits(ok, 'tok', { daily_loss: 5 }), { ok: true, body: { daily_loss: 5 } });
  assert.equal(calls[0][0], '/api/risk/limits');
  assert.equal(calls[0][1].method, 'PUT');
  assert.equal(calls[0][1].headers['X-CSRFToken'], 'tok');
  const refused = async () => ({ ok: false, status: 400, json: async () => ({ error: 'daily_loss must be a positive number of dollars (or null: off)' }) });
  assert.equal((await saveLimits(refused, 'tok', {})).error, 'Not saved: daily_loss must be a positive number of dollars (or null: off).');
  const down = async () => { throw new Error('offline'); };
  assert.match((await saveLimits(down, 'tok', {})).error, /cannot be reached/);
});
