// This tab's part in "One connection per browser" as the page runs it
// (static/js/stream/io/sharing.js): alone it is its own transport; linked, a follower's
// resync reads the user's snapshot over HTTP and frames are relayed only while leading;
// and the page's state as a plain copy (static/js/stream/inspect.js). Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { plainState } from '../../static/js/stream/inspect.js';
import { createSharing } from '../../static/js/stream/io/sharing.js';
import { applySnapshot, initialState } from '../../static/js/stream/state.js';

const SNAP = {
  type: 'snapshot', epoch: 'E1', seq: 7, t: 1780000000000,
  accounts: [], quotes: { SPY: { bid: 1, ask: 2, t: 1780000000000 } }, greeks: {}, watchlist: { symbols: ['SPY'], version: 1 },
};

/** A transport that records what it is asked. */
function fakeTransport() {
  const calls = [];
  const record = (name) => (...args) => { calls.push([name, ...args]); };
  return {
    calls,
    conn: { status: 'live', stopped: false },
    start: record('start'), resync: record('resync'), sendSymbols: record('sendSymbols'),
    sseSymbolsChanged: record('sseSymbolsChanged'), pageShown: record('pageShown'), paceChanged: record('paceChanged'),
  };
}

/** The page's side: its reducer state and what reached it. */
function fakePage(state = initialState()) {
  const page = {
    current: state, received: [], snapshots: [], statuses: [],
    state: () => page.current,
    receive: (frame) => page.received.push(frame),
    snapshot: (snap) => page.snapshots.push(snap),
    ownPace: () => 2,
    status: (status) => page.statuses.push(status),
    login() {},
  };
  return page;
}

/** A window with Web Locks and BroadcastChannel (the tab link is made; nothing is granted). */
function linkedWindow(answers) {
  return {
    fetched: [],
    timers: [],
    navigator: { locks: { request: () => new Promise(() => {}) } },
    BroadcastChannel: class { postMessage() {} },
    setTimeout(fn, ms) { this.timers.push([fn, ms]); },
    async fetch(url, opts) {
      this.fetched.push([url, opts]);
      const a = answers.shift();
      return { ok: a.status === 200, status: a.status, json: async () => a.body };
    },
  };
}

test('alone (no Web Locks): this tab\'s transport opens, resyncs and carries its own symbols and pace', () => {
  const page = fakePage(applySnapshot(initialState(), SNAP, 'page'));
  const sharing = createSharing({ navigator: {} }, { user: 'demo', mode: 'auto', optOut: false, snapshotUrl: '/api/snapshot', page });
  const transport = fakeTransport();
  sharing.attach(transport);
  assert.equal(sharing.linked(), false);
  assert.equal(sharing.leadingOrAlone(), true);
  assert.equal(sharing.info(), null);
  sharing.start();
  sharing.resync('gap');
  sharing.ownSymbolsChanged('subscribe', ['QQQ']);
  assert.deepEqual(transport.calls, [['start'], ['resync', 'gap'], ['sendSymbols', 'subscribe', ['QQQ']], ['sseSymbolsChanged']]);
  assert.equal(sharing.connection(), 'live');
  assert.equal(sharing.pace(), 2);
  assert.equal(sharing.position(), 'E1:7');
});

test('shared only where the browser can and the page asks the automatic transport', () => {
  const page = fakePage();
  const made = (options) => {
    const sharing = createSharing(linkedWindow([]), { user: 'demo', mode: 'auto', optOut: false, snapshotUrl: '/s', page, ...options });
    sharing.attach(fakeTransport());
    return sharing.linked();
  };
  assert.equal(made({}), true);
  assert.equal(made({ user: '' }), false);
  assert.equal(made({ mode: 'sse' }), false);
  assert.equal(made({ optOut: true }), false);
});

test('a follower\'s resync reads the snapshot over HTTP (once at a time), and again 2 s after a failure', async () => {
  const win = linkedWindow([{ status: 503, body: null }, { status: 200, body: SNAP }]);
  const page = fakePage({ ...initialState(), awaitingSnapshot: true });
  const sharing = createSharing(win, { user: 'demo', mode: 'auto', optOut: false, snapshotUrl: '/api/snapshot', page });
  const transport = fakeTransport();
  sharing.attach(transport);
  assert.equal(sharing.leadingOrAlone(), false); // joined, not leading
  sharing.resync('gap');
  sharing.resync('gap'); // one read in flight: not a second
  await new Promise((r) => setImmediate(r));
  assert.equal(win.fetched.length, 1);
  assert.equal(win.fetched[0][0], '/api/snapshot');
  assert.deepEqual(win.fetched[0][1].headers, { Accept: 'application/json' });
  assert.equal(win.timers.length, 1);
  assert.equal(win.timers[0][1], 2000);
  win.timers[0][0]();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(page.snapshots, [SNAP]);
  assert.deepEqual(transport.calls, []); // the leader's socket holds the stream
  assert.equal(sharing.connection(), 'connecting'); // the leader's, until it relays one
});

test('the plain copy: JSON only, the page\'s parts beside the state', () => {
  const state = applySnapshot(initialState(), SNAP, 'page');
  const copy = plainState(state, {
    connection: 'live', share: null, dataState: 'live', clock: { lastFrameAt: 5, skew: -3 },
    conn: { reconnects: 0, connects: 1, socketUrl: 'ws://x', es: null, fallback: 'off' },
  });
  assert.equal(copy.connection, 'live');
  assert.equal(copy.position, 'E1:7');
  assert.deepEqual(copy.quotes.SPY.bid, 1);
  assert.deepEqual(copy.accounts, []);
  assert.equal(copy.sse, false);
  assert.equal(copy.skew, -3);
  assert.deepEqual(JSON.parse(JSON.stringify(copy)), copy);
});
