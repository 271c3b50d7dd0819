// The transport state machine (static/js/stream/io/transport.js) with a fake clock, fake
// WebSocket, EventSource and fetch: WS → SSE → polling, resume positions, close codes,
// backoff. No real time passes. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { createTransport, fallbackKind, skewOf } from '../../static/js/stream/io/transport.js';

const T0 = 1_760_000_000_000;

/** setTimeout/setInterval on a clock that moves only when the test says so. */
class FakeClock {
  now = T0;
  timers = new Map();
  id = 0;
  setTimeout = (fn, ms) => this.add(fn, ms, null);
  setInterval = (fn, ms) => this.add(fn, ms, ms);
  clearTimeout = (id) => this.timers.delete(id);
  clearInterval = (id) => this.timers.delete(id);
  add(fn, ms, every) {
    this.timers.set(++this.id, { at: this.now + Math.max(0, ms || 0), fn, every });
    return this.id;
  }
  /** Run every timer due within `ms`, in time order. */
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      let next = null;
      for (const [id, tm] of this.timers) if (tm.at <= end && (!next || tm.at < next[1].at)) next = [id, tm];
      if (!next) break;
      const [id, tm] = next;
      this.now = tm.at;
      if (tm.every) tm.at += tm.every;
      else this.timers.delete(id);
      tm.fn();
    }
    this.now = end;
  }
}

/** Let the promises of a poll settle (no time passes). */
const settle = () => new Promise((resolve) => setImmediate(resolve));
const json = (x) => JSON.stringify(x);

function harness({ mode = 'auto', position = 'E1:5', eventSource = true, extra = [] } = {}) {
  const clock = new FakeClock();
  const sockets = [];
  const sources = [];
  const fetches = [];
  const log = { frames: [], statuses: [], snapshots: [], skews: [], logins: 0, forgot: 0 };
  let pos = position;
  let respond = () => ({ status: 200, ok: true, json: async () => ({ type: 'snapshot', epoch: 'E1', seq: 5, t: clock.now }) });

  class FakeWebSocket {
    readyState = 0;
    sent = [];
    closedWith = null;
    constructor(url) { this.url = url; sockets.push(this); }
    send(data) { this.sent.push(JSON.parse(data)); }
    close(code, reason) { this.closedWith = { code, reason }; this.readyState = 3; }
    open() { this.readyState = 1; this.onopen?.(); }
    frame(...frames) { for (const f of frames) this.onmessage?.({ data: json(f) }); }
    serverClose(code) { this.readyState = 3; this.onclose?.({ code, reason: '' }); }
    live(seq = 5) { this.open(); this.frame({ type: 'hello', epoch: 'E1', seq }, { type: 'snapshot', epoch: 'E1', seq }); }
  }
  class FakeEventSource {
    readyState = 0;
    listeners = {};
    closed = false;
    constructor(url, opts) { this.url = url; this.opts = opts; sources.push(this); }
    addEventListener(type, fn) { this.listeners[type] = fn; }
    close() { this.closed = true; this.readyState = 2; }
    frame(...frames) { this.readyState = 1; for (const f of frames) this.onmessage?.({ data: json(f) }); }
    error(readyState) { this.readyState = readyState; this.onerror?.(); }
    serverClose(code) { this.listeners.close?.({ data: json({ code }) }); }
  }
  const env = {
    WebSocket: FakeWebSocket,
    EventSource: eventSource ? FakeEventSource : undefined,
    fetch: async (url, opts) => { fetches.push({ url, opts }); return respond(); },
    AbortController,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    setInterval: clock.setInterval,
    clearInterval: clock.clearInterval,
    now: () => clock.now,
    random: () => 0.5, // no jitter: backoff is 500, 1000, 2000, …
    isOffline: () => false,
  };
  const hooks = {
    position: () => pos,
    forgetPosition: () => { pos = null; log.forgot++; },
    sseSymbols: () => null,
    extraSymbols: () => extra,
    symbolsPerMessage: () => 2,
    frame: (f) => log.frames.push(f),
    snapshot: (s) => log.snapshots.push(s),
    skew: (ms) => log.skews.push(ms),
    status: (s) => log.statuses.push(s),
    login: () => { log.logins++; },
  };
  const tr = createTransport({ env, urls: { socket: 'ws://desk/ws/stream/', events: '/api/events', snapshot: '/api/snapshot', mode }, hooks });
  return {
    tr, c: tr.conn, clock, sockets, sources, fetches, log, hooks,
    get ws() { return sockets[sockets.length - 1]; },
    get es() { return sources[sources.length - 1]; },
    setPosition: (p) => { pos = p; },
    respondWith: (fn) => { respond = fn; },
  };
}

const since = (url) => new URL(url, 'http://desk').searchParams.get('since');

test('pure decisions: the fallback, the clock skew', () => {
  assert.equal(fallbackKind({ mode: 'auto', sseBroken: false, hasEventSource: true }), 'sse');
  assert.equal(fallbackKind({ mode: 'auto', sseBroken: true, hasEventSource: true }), 'poll');
  assert.equal(fallbackKind({ mode: 'poll', sseBroken: false, hasEventSource: true }), 'poll');
  assert.equal(fallbackKind({ mode: 'sse', sseBroken: false, hasEventSource: false }), 'poll');
  assert.equal(skewOf(1_000, 100, 300), 800, 'the server time is taken halfway');
});

test('the first socket resumes from the page; hello re-sends the tab\'s extras; a snapshot is live', () => {
  const h = harness({ extra: ['A', 'B', 'C'] });
  h.tr.start();
  assert.equal(h.sockets.length, 1);
  assert.equal(since(h.ws.url), 'E1:5');
  assert.equal(h.c.status, 'connecting');
  h.ws.open();
  h.ws.frame({ type: 'hello', epoch: 'E1', seq: 5 });
  assert.deepEqual(h.ws.sent, [{ type: 'subscribe', symbols: ['A', 'B'] }, { type: 'subscribe', symbols: ['C'] }], 'in messages of max_symbols_per_message');
  assert.equal(h.c.status, 'connecting', 'not live before the snapshot');
  h.ws.frame({ type: 'snapshot', epoch: 'E1', seq: 5 });
  assert.equal(h.c.status, 'live');
  assert.deepEqual(h.log.frames.map((f) => f.type), ['hello', 'snapshot']);
  h.ws.onmessage({ data: 'not json' });
  assert.equal(h.log.frames.length, 2, 'what is not a frame is not passed on');
});

test('three sockets without a snapshot: SSE; SSE fails before its snapshot: polling; a live socket ends both', async () => {
  const h = harness();
  h.tr.start();
  h.ws.serverClose(1006);
  assert.equal(h.c.lastRetry.delay, 500);
  h.clock.advance(500);
  h.ws.open();
  h.ws.serverClose(1006);
  h.clock.advance(1000);
  assert.equal(h.sources.length, 0);
  h.ws.serverClose(1006);
  assert.equal(h.c.fallback, 'sse');
  assert.equal(h.sources.length, 1);
  assert.equal(h.es.url, '/api/events?since=E1%3A5', 'SSE resumes from our position');
  assert.deepEqual(h.es.opts, { withCredentials: true });
  assert.equal(h.sockets.length, 3);
  h.clock.advance(2000);
  assert.equal(h.sockets.length, 4, 'the socket is retried all along');

  h.es.error(2);
  assert.equal(h.c.fallback, 'poll');
  assert.equal(h.es.closed, true);
  assert.equal(h.c.status, 'polling');
  assert.equal(h.fetches.length, 1);
  assert.equal(new URL(h.fetches[0].url, 'http://desk').pathname, '/api/snapshot');
  await settle();
  assert.equal(h.log.snapshots.length, 1);
  h.clock.advance(1999);
  assert.equal(h.fetches.length, 1);
  h.clock.advance(1);
  assert.equal(h.fetches.length, 2, 'every 2 s');
  await settle();

  h.ws.live();
  assert.equal(h.c.fallback, 'off');
  assert.equal(h.c.status, 'live');
  h.clock.advance(60_000);
  assert.equal(h.fetches.length, 2, 'polling stopped');
  assert.equal(h.sources.length, 1, 'SSE is not tried again once it failed');
});

test('SSE: a live stream reconnects by itself (Last-Event-ID); a closed one reopens from our position', () => {
  const h = harness({ mode: 'sse' });
  h.tr.start();
  assert.equal(h.sockets.length, 0, '?transport=sse opens no socket');
  h.es.frame({ type: 'hello' }, { type: 'snapshot', epoch: 'E1', seq: 5 });
  assert.equal(h.c.status, 'sse');
  h.es.error(0); // CONNECTING: the browser retries with Last-Event-ID
  assert.equal(h.sources.length, 1);
  assert.equal(h.es.closed, false);
  assert.equal(h.c.status, 'reconnecting');
  h.es.frame({ type: 'resumed', epoch: 'E1', from: 5 });
  assert.equal(h.c.status, 'sse');
  h.setPosition('E1:9');
  h.es.error(2); // CLOSED: the browser gave up
  assert.equal(h.sources.length, 2);
  assert.equal(since(h.es.url), 'E1:9');
});

test('SSE close codes: 4409 at once without position, 4503 after backoff, 4401 to log in', () => {
  const h = harness({ mode: 'sse' });
  h.tr.start();
  h.es.frame({ type: 'snapshot' });
  h.es.serverClose(4409);
  assert.equal(h.sources[0].closed, true);
  h.clock.advance(0);
  assert.equal(h.sources.length, 2);
  assert.equal(since(h.es.url), null, 'a fresh snapshot');
  h.es.frame({ type: 'snapshot' });
  h.setPosition('E1:6');
  h.es.serverClose(4503);
  assert.equal(h.c.status, 'reconnecting');
  assert.deepEqual(h.c.lastRetry, { code: 4503, delay: 500, since: 'E1:6' });
  h.clock.advance(499);
  assert.equal(h.sources.length, 2, 'never at once');
  h.clock.advance(1);
  assert.equal(since(h.es.url), 'E1:6');
  h.es.serverClose(4401);
  assert.equal(h.log.logins, 1);
  h.clock.advance(60_000);
  assert.equal(h.sources.length, 3);
});

for (const [code, resumes, delay] of [[4408, true, 0], [1012, true, 0], [4409, false, 0], [4503, true, 500], [1013, true, 500], [1001, true, 500], [1011, true, 500], [1006, true, 500]]) {
  test(`close ${code}: reconnect ${delay ? 'after backoff' : 'at once'} ${resumes ? 'with' : 'without'} the position`, () => {
    const h = harness();
    h.tr.start();
    h.ws.live();
    h.ws.serverClose(code);
    assert.equal(h.c.status, 'reconnecting');
    assert.deepEqual(h.c.lastRetry, { code, delay, since: resumes ? 'E1:5' : null });
    assert.equal(h.log.forgot, resumes ? 0 : 1);
    if (delay) {
      h.clock.advance(delay - 1);
      assert.equal(h.sockets.length, 1, 'not at once');
    }
    h.clock.advance(delay ? 1 : 0);
    assert.equal(h.sockets.length, 2);
    assert.equal(since(h.ws.url), resumes ? 'E1:5' : null);
  });
}

test('close 4401: to the login page, never again a socket', () => {
  const h = harness();
  h.tr.start();
  h.ws.live();
  h.ws.serverClose(4401);
  assert.equal(h.log.logins, 1);
  assert.equal(h.c.status, 'offline');
  h.clock.advance(600_000);
  h.tr.online();
  h.tr.visible();
  assert.equal(h.sockets.length, 1);
});

test('"at once" at most once per 5 s; backoff doubles and starts over after 10 s live', () => {
  const h = harness();
  h.tr.start();
  h.ws.live();
  h.ws.serverClose(1012);
  assert.equal(h.c.lastRetry.delay, 0);
  h.clock.advance(0);
  h.ws.live();
  h.ws.serverClose(1012);
  assert.equal(h.c.lastRetry.delay, 500, 'the second within 5 s waits');
  h.clock.advance(500);
  h.ws.serverClose(1006);
  assert.equal(h.c.lastRetry.delay, 1000);
  h.clock.advance(1000);
  h.ws.serverClose(1006);
  assert.equal(h.c.lastRetry.delay, 2000);
  h.clock.advance(2000);
  h.ws.live();
  h.clock.advance(9_999);
  h.ws.serverClose(1006);
  assert.equal(h.c.lastRetry.delay, 4000, 'not stable yet');
  h.clock.advance(4000);
  h.ws.live();
  h.clock.advance(10_000);
  h.ws.serverClose(1006);
  assert.equal(h.c.lastRetry.delay, 500, 'stable: from the start');
});

test('a resync drops the socket and reconnects at once; a dead socket is dropped after 45 s', () => {
  const h = harness();
  h.tr.start();
  h.ws.live();
  h.tr.resync('sequence gap');
  assert.equal(h.sockets[0].closedWith.code, 4000);
  assert.equal(h.c.lastReason, 'sequence gap');
  h.clock.advance(0);
  assert.equal(h.sockets.length, 2);
  h.ws.live();
  h.clock.advance(30_000);
  h.ws.frame({ type: 'quotes', quotes: {} });
  h.clock.advance(44_000);
  h.tr.checkAlive();
  assert.equal(h.sockets[1].closedWith, null, 'frames keep it alive');
  h.clock.advance(1_001);
  h.tr.checkAlive();
  assert.equal(h.sockets[1].closedWith.code, 4000);
  assert.equal(h.c.lastReason, 'no frame for 45 s');
});

test('a socket that never opens is dropped after 15 s and counts as a failure', () => {
  const h = harness();
  h.tr.start();
  h.clock.advance(15_000);
  assert.equal(h.sockets[0].closedWith.reason, 'connect timeout');
  assert.equal(h.c.failures, 1);
});

test('pings every 20 s; a pong sets the clock skew', () => {
  const h = harness();
  h.tr.start();
  h.ws.live();
  h.clock.advance(20_000);
  assert.deepEqual(h.ws.sent, [{ type: 'ping', id: 1 }]);
  h.clock.advance(100);
  h.ws.frame({ type: 'pong', id: 1, t: T0 + 20_050 + 5_000 });
  assert.deepEqual(h.log.skews, [5_000]);
});

test('?transport=poll: no socket; 403 goes to log in', async () => {
  const h = harness({ mode: 'poll' });
  h.respondWith(() => ({ status: 403, ok: false, json: async () => ({}) }));
  h.tr.start();
  assert.equal(h.sockets.length, 0);
  assert.equal(h.c.status, 'polling');
  await settle();
  assert.equal(h.log.logins, 1);
  h.clock.advance(60_000);
  assert.equal(h.fetches.length, 1);
});

test('a poll that fails shows offline and tries again', async () => {
  const h = harness({ mode: 'poll', eventSource: false });
  h.respondWith(() => { throw new TypeError('network'); });
  h.tr.start();
  await settle();
  assert.equal(h.c.status, 'offline');
  h.respondWith(() => ({ status: 200, ok: true, json: async () => ({ type: 'snapshot', t: T0 + 3_000 }) }));
  h.clock.advance(2000);
  await settle();
  assert.equal(h.c.status, 'polling');
  assert.equal(h.log.snapshots.length, 1);
  assert.equal(h.log.skews.length, 1);
});

test('a hidden page stops; shown again, it reconnects', () => {
  const h = harness();
  h.tr.start();
  h.ws.live();
  h.tr.pageHidden();
  assert.equal(h.sockets[0].closedWith.code, 1000);
  h.clock.advance(600_000);
  assert.equal(h.sockets.length, 1);
  h.tr.pageShown();
  assert.equal(h.sockets.length, 2);
});

test("a polling page's extra symbols ride on every poll under one tab id", async () => {
  const h = harness({ mode: 'poll', extra: ['XLE', '.SPY260918C590'] });
  h.tr.start();
  await settle();
  h.clock.advance(2000);
  await settle();
  assert.equal(h.fetches.length, 2);
  const urls = h.fetches.map((f) => new URL(f.url, 'http://desk'));
  assert.deepEqual(urls.map((u) => u.pathname), ['/api/snapshot', '/api/snapshot']);
  assert.deepEqual(urls.map((u) => u.searchParams.get('symbols')), ['XLE,.SPY260918C590', 'XLE,.SPY260918C590']);
  const [a, b] = urls.map((u) => u.searchParams.get('tab'));
  assert.match(a, /^[A-Za-z0-9_-]{8,64}$/);
  assert.equal(a, b, 'one id per page');
});

test('a polling page with no extra symbols still names its tab (it holds the stream between polls)', async () => {
  const h = harness({ mode: 'poll' });
  h.tr.start();
  await settle();
  const url = new URL(h.fetches[0].url, 'http://desk');
  assert.deepEqual([...url.searchParams.keys()], ['tab']);
});

test('a paced page asks its pace on every new socket, and again when it changes', () => {
  const h = harness();
  let pace = 2;
  h.hooks.pace = () => pace;
  h.tr.start();
  h.ws.open();
  h.ws.frame({ type: 'hello', epoch: 'E1', seq: 5 });
  assert.deepEqual(h.ws.sent, [{ type: 'pace', max_frequency: 2 }]);
  pace = null;
  h.tr.paceChanged();
  assert.deepEqual(h.ws.sent.at(-1), { type: 'pace', max_frequency: null }, 'back to every frame');
  h.ws.serverClose(1012);
  h.clock.advance(0);
  assert.equal(h.sockets.length, 2);
  h.ws.open();
  h.ws.frame({ type: 'hello', epoch: 'E1', seq: 5 });
  assert.deepEqual(h.ws.sent, [], 'unpaced: a new socket starts unpaced, nothing to ask');
  pace = 2;
  h.tr.paceChanged();
  h.ws.serverClose(1012);
  h.clock.advance(5_000);
  h.ws.open();
  h.ws.frame({ type: 'hello', epoch: 'E1', seq: 5 });
  assert.deepEqual(h.ws.sent, [{ type: 'pace', max_frequency: 2 }], 'asked again on the new socket');
});
