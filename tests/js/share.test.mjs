// One connection per browser (static/js/stream/share.js): the union, per-tab routing,
// the handover position, catching a late tab up, and the leader/follower protocol run
// between several simulated tabs over a fake channel, with the real reducer (state.js):
// a handover mid-stream loses and duplicates no account frame. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import {
  CENSUS_MS, canShare, catchUp, createRing, frameForTab, handoverPosition, initialShare, positionOf, remember,
  shareNames, shareStep, sharedPace, symbolUnion, unionChange,
} from '../../static/js/stream/share.js';
import { applyFrame, applySnapshot, initialState } from '../../static/js/stream/state.js';

const pos = (epoch, seq, canResume = true) => ({ epoch, seq, canResume });
const order = (seq, id, status = 'Filled', epoch = 'E1') => ({
  type: 'order', epoch, seq, account: 'A1', link: 1,
  order: { id, status, legs: [{ symbol: 'SPY', quantity: 1, fills: status === 'Filled' ? [{ id: `${id}:1`, quantity: 1, price: 1 }] : [] }] },
});
const snap = (seq, epoch = 'E1') => ({ type: 'snapshot', epoch, seq, accounts: [], quotes: {}, orders: [], links: [{ id: 1, state: 'live' }] });

test('names, and when a page shares', () => {
  assert.deepEqual(shareNames('demo'), { lock: 'streamdesk.leader.demo', channel: 'streamdesk.tabs.demo' });
  assert.equal(canShare({ hasLocks: true, hasBroadcast: true, mode: 'auto', optOut: false }), true);
  assert.equal(canShare({ hasLocks: false, hasBroadcast: true, mode: 'auto', optOut: false }), false);
  assert.equal(canShare({ hasLocks: true, hasBroadcast: false, mode: 'auto', optOut: false }), false);
  assert.equal(canShare({ hasLocks: true, hasBroadcast: true, mode: 'sse', optOut: false }), false);
  assert.equal(canShare({ hasLocks: true, hasBroadcast: true, mode: 'auto', optOut: true }), false);
});

test('the union of every tab, and what the socket adds and drops', () => {
  assert.deepEqual(symbolUnion([['SPY', 'AAPL'], ['AAPL', '.SPY251219C600'], [], undefined]), ['SPY', 'AAPL', '.SPY251219C600']);
  assert.deepEqual(unionChange(['A', 'B'], ['B', 'C']), { add: ['C'], remove: ['A'] });
  assert.deepEqual(unionChange(['A'], ['A']), { add: [], remove: [] });
});

test('a rejection reaches the tab that asked for the symbol (and every tab for the watchlist)', () => {
  const frame = { type: 'subscribed', symbols: ['SPY'], rejected: [{ symbol: 'BAD1', reason: 'invalid_symbol' }, { symbol: 'WL', reason: 'x' }, { symbol: 'OTHER', reason: 'limit_reached' }] };
  const mine = frameForTab(frame, new Set(['BAD1']), ['WL']);
  assert.deepEqual(mine.rejected.map((r) => r.symbol), ['BAD1', 'WL']);
  assert.deepEqual(mine.symbols, ['SPY']);
  assert.equal(frameForTab(order(1, 'x'), new Set(), []).type, 'order');
});

test('a new leader resumes from the oldest position of its epoch', () => {
  assert.equal(handoverPosition(pos('E1', 10), [pos('E1', 9), pos('E1', 11), pos('E2', 3), pos('E1', 2, false)]), 'E1:9');
  assert.equal(handoverPosition(pos('E1', 10), []), 'E1:10');
  assert.equal(handoverPosition(pos('E1', 10, false), [pos('E1', 9)]), null); // the leader itself takes a snapshot
  let s = initialState();
  s = applySnapshot(s, snap(4), 'stream');
  assert.deepEqual(positionOf(s), { epoch: 'E1', seq: 4, canResume: true });
  s = applyFrame(s, { type: 'hello' }); // awaiting its snapshot: not a position to resume from
  assert.equal(positionOf(s).canResume, false);
});

test('a late tab is caught up exactly from its own position, or told to read a snapshot', () => {
  let leader = applySnapshot(initialState(), snap(2), 'stream');
  const ring = createRing(3);
  remember(ring, { type: 'hello', epoch: 'E1', server_time: 1, limits: { max_symbols: 200 } });
  for (const f of [order(3, 'a'), order(4, 'b'), order(4, 'b'), order(5, 'c'), order(6, 'd')]) {
    remember(ring, f);
    leader = applyFrame(leader, f);
  }
  leader = applyFrame(leader, { type: 'quotes', quotes: { SPY: { bid: 1, t: 5 } } });
  assert.equal(leader.seq, 6);
  assert.deepEqual(ring.frames.map((f) => f.seq), [4, 5, 6]); // at most `size`
  const frames = catchUp(ring, leader, pos('E1', 4));
  assert.deepEqual(frames.map((f) => f.type), ['hello', 'resumed', 'order', 'order', 'status', 'quotes']);
  assert.equal(frames[0].server_time, undefined); // an old server time would skew the clock
  assert.deepEqual(frames[1], { type: 'resumed', epoch: 'E1', from: 4, count: 2 });
  assert.deepEqual(frames.slice(2, 4).map((f) => f.seq), [5, 6]);
  // the late tab, from its page's snapshot at 4, ends where the leader is, each order once
  let late = applySnapshot(initialState(), { ...snap(4), orders: [] }, 'page');
  for (const f of frames) late = applyFrame(late, f);
  assert.equal(late.seq, 6);
  assert.equal(late.awaitingSnapshot, false);
  assert.deepEqual([...late.orders.keys()].sort(), ['1:c', '1:d']);
  assert.deepEqual(late.quotes.get('SPY'), { bid: 1, t: 5 });
  assert.equal(catchUp(ring, leader, pos('E1', 6)).length, 4); // up to date: nothing to replay
  assert.equal(catchUp(ring, leader, pos('E1', 2)), null); // frame 3 is no longer kept
  assert.equal(catchUp(ring, leader, pos('E0', 4)), null); // another epoch
  assert.equal(catchUp(ring, leader, pos('E1', 4, false)), null);
  assert.equal(catchUp(createRing(), leader, pos('E1', 4)), null); // no stream yet
});

// ------------------------------------------------------------------ the protocol between tabs

/**
 * Tabs on one fake BroadcastChannel (messages delivered in order, to every other tab, when
 * the test says), one lock (granted in request order), one fake server (an event log).
 */
class Browser {
  constructor() {
    this.tabs = [];
    this.queue = [];
    this.lockQueue = [];
    this.log = []; // the server's account frames of epoch E1, seq = index + 1
    this.sockets = []; // {tab, since}
  }

  open(name, symbols = [], page = null, pace = null) {
    const tab = { name, share: initialShare(name), state: page || applySnapshot(initialState(), snap(this.log.length), 'page'), symbols, pace, applied: [], socket: null, timer: false };
    this.tabs.push(tab);
    this.step(tab, { type: 'start' });
    this.lockQueue.push(tab);
    this.grant();
    return tab;
  }

  grant() {
    const holder = this.lockQueue[0];
    if (holder && !holder.holds) {
      holder.holds = true;
      this.step(holder, { type: 'lock' });
    }
  }

  close(tab) {
    this.tabs = this.tabs.filter((t) => t !== tab);
    this.lockQueue = this.lockQueue.filter((t) => t !== tab);
    if (tab.share.role === 'follower') this.post(tab, { t: 'leave', from: tab.name });
    tab.socket = null;
    this.grant();
  }

  own(tab) {
    return { symbols: tab.symbols, position: positionOf(tab.state), pace: tab.pace };
  }

  step(tab, ev) {
    const [next, actions] = shareStep(tab.share, { ...ev, own: this.own(tab) });
    tab.share = next;
    for (const a of actions) {
      if (a.post) this.post(tab, a.post);
      else if (a.timer) tab.timer = true;
      else if ('open' in a) this.connect(tab, a.open);
      else if (a.subscribe) tab.socket.symbols = [...tab.socket.symbols, ...a.subscribe];
      else if (a.unsubscribe) tab.socket.symbols = tab.socket.symbols.filter((s) => !a.unsubscribe.includes(s));
      else if ('pace' in a) tab.socket.pace = a.pace;
      else if (a.catchUp) this.post(tab, { t: 'catchup', from: tab.name, to: a.catchUp, frames: catchUp(tab.ring, tab.state, a.position) });
      else if (a.apply) this.apply(tab, a.apply);
      else if ('frames' in a) for (const f of a.frames) this.apply(tab, f);
    }
  }

  censusDone(tab) {
    assert.equal(tab.timer, true);
    tab.timer = false;
    this.step(tab, { type: 'censusDone' });
  }

  post(from, msg) {
    for (const t of this.tabs) if (t !== from) this.queue.push([t, msg]);
  }

  deliver() {
    while (this.queue.length) {
      const [t, msg] = this.queue.shift();
      if (this.tabs.includes(t)) this.step(t, { type: 'message', msg });
    }
  }

  apply(tab, frame) {
    const before = tab.state;
    tab.state = applyFrame(tab.state, frame);
    if (tab.state.orders !== before.orders) tab.applied.push(frame.seq);
    if (tab.state.effects.some((e) => e.type === 'resync')) throw new Error(`${tab.name} had to resync`);
  }

  /** The leader's socket: hello, resumed + the log after `since` (or a snapshot), the union. */
  connect(tab, since) {
    tab.ring = createRing();
    tab.socket = { since, symbols: tab.share.union.slice(), pace: tab.share.pace };
    this.sockets.push({ tab: tab.name, since });
    const from = Number(since.split(':')[1]);
    const frames = [{ type: 'hello', epoch: 'E1' }, { type: 'resumed', epoch: 'E1', from, count: this.log.length - from }, ...this.log.slice(from)];
    for (const f of frames) this.receive(tab, f);
  }

  receive(tab, frame) {
    this.apply(tab, frame);
    remember(tab.ring, frame);
    this.post(tab, { t: 'frame', from: tab.name, frame });
    if (frame.type === 'resumed') this.step(tab, { type: 'live' });
  }

  /** The broker makes an account event: the server logs it and sends it on the socket. */
  event(id) {
    const f = order(this.log.length + 1, id);
    this.log.push(f);
    const leader = this.tabs.find((t) => t.socket);
    if (leader) this.receive(leader, f);
  }
}

test('one leader holds the socket with every tab\'s symbols; tabs join, change symbols and leave', () => {
  const b = new Browser();
  const a = b.open('a', ['CHART']);
  assert.equal(a.share.role, 'leader'); // the first tab: no census
  assert.deepEqual(b.sockets, [{ tab: 'a', since: 'E1:0' }]);
  const c = b.open('c', ['.OPT1', '.OPT2']);
  const d = b.open('d', ['CHART', 'NEWS']);
  assert.equal(c.share.role, 'follower');
  b.deliver();
  assert.equal(b.sockets.length, 1);
  assert.deepEqual(a.socket.symbols.sort(), ['.OPT1', '.OPT2', 'CHART', 'NEWS']);
  assert.deepEqual(a.share.members.size, 2);
  assert.equal(c.share.joined, true);
  b.event('o1');
  b.deliver();
  for (const t of [a, c, d]) assert.deepEqual(t.applied, [1], t.name);
  // a tab changes its symbols, another leaves: the union follows, CHART stays (a shows it)
  c.symbols = ['.OPT3'];
  b.step(c, { type: 'own' });
  b.close(d);
  b.deliver();
  assert.deepEqual(a.socket.symbols.sort(), ['.OPT3', 'CHART']);
  assert.deepEqual([...a.share.members.keys()], ['c']);
});

test('a tab that joins before the leader is live is caught up once it is', () => {
  const s0 = { ...initialShare('L'), role: 'leader' };
  const [s1, out1] = shareStep(s0, { type: 'message', msg: { t: 'member', from: 'F', symbols: ['X'], position: pos('E1', 0) }, own: { symbols: [], position: pos('E1', 0) } });
  assert.deepEqual(out1, [{ watch: 'F' }, { subscribe: ['X'] }]); // a new member is watched once
  const again = shareStep(s1, { type: 'message', msg: { t: 'member', from: 'F', symbols: ['X'], position: pos('E1', 0) }, own: { symbols: [], position: pos('E1', 0) } });
  assert.deepEqual(again[1], []);
  assert.deepEqual(s1.waiting, [{ tab: 'F', position: pos('E1', 0) }]);
  const [s2, out2] = shareStep(s1, { type: 'live', own: { symbols: [], position: pos('E1', 0) } });
  assert.deepEqual(out2, [{ catchUp: 'F', position: pos('E1', 0) }]);
  assert.deepEqual(s2.waiting, []);
  // a follower ignores frames until it is caught up, then applies them
  const f0 = initialShare('F');
  const [f1, o1] = shareStep(f0, { type: 'message', msg: { t: 'frame', frame: order(1, 'x') }, own: {} });
  assert.deepEqual(o1, []);
  const [f2, o2] = shareStep(f1, { type: 'message', msg: { t: 'catchup', to: 'F', frames: null, status: 'live' }, own: {} });
  assert.deepEqual(o2, [{ frames: null }, { status: 'live' }]);
  const [, o3] = shareStep(f2, { type: 'message', msg: { t: 'frame', frame: order(1, 'x') }, own: {} });
  assert.deepEqual(o3, [{ apply: order(1, 'x') }]);
  assert.deepEqual(shareStep(f2, { type: 'message', msg: { t: 'catchup', to: 'G', frames: [] }, own: {} })[1], []);
  // the session ended at the leader: every follower goes to log in
  assert.deepEqual(shareStep(f2, { type: 'message', msg: { t: 'login', from: 'L' }, own: {} })[1], [{ login: true }]);
  assert.deepEqual(shareStep(s2, { type: 'message', msg: { t: 'login', from: 'X' }, own: {} })[1], []);
});

test('the leader closes at an account event: every other tab applies each frame exactly once, no resync', () => {
  const b = new Browser();
  const a = b.open('a', ['A']);
  const c = b.open('c', ['C']);
  const d = b.open('d', ['D']);
  b.deliver();
  b.event('o1');
  b.deliver();
  // o2 reaches the leader and is relayed to c only (d has not taken it yet) when a closes
  b.event('o2');
  b.queue = b.queue.filter(([t]) => t !== d); // d never gets a's last relay
  b.deliver();
  assert.equal(c.state.seq, 2);
  assert.equal(d.state.seq, 1);
  b.close(a);
  b.event('o3'); // made while nobody holds a socket: only the server's log has it
  assert.equal(c.share.role, 'census');
  assert.equal(b.sockets.length, 1);
  b.deliver(); // d answers c's census with its position (1)
  b.censusDone(c);
  assert.deepEqual(b.sockets[1], { tab: 'c', since: 'E1:1' }); // the oldest: d's
  assert.deepEqual(c.socket.symbols.sort(), ['C', 'D']); // a's symbol is gone with it
  b.deliver();
  b.event('o4');
  b.deliver();
  assert.deepEqual(c.applied, [1, 2, 3, 4]);
  assert.deepEqual(d.applied, [1, 2, 3, 4]);
  assert.equal(c.state.orders.size, 4);
  assert.equal(c.state.snapshots, 1); // the page's own: the handover resumed
  assert.equal(d.state.snapshots, 1);
  assert.equal(CENSUS_MS, 300);
});

test('the shared socket asks the fastest pace any tab asks; a dashboard tab asks none', () => {
  assert.equal(sharedPace([2, 2]), 2);
  assert.equal(sharedPace([2, 5]), 5);
  assert.equal(sharedPace([2, null]), null, 'a tab that asks none wants every frame');
  assert.equal(sharedPace([]), null);
  const b = new Browser();
  const chain = b.open('chain', ['.OPT1'], null, 2);
  assert.equal(chain.socket.pace, 2, 'the chain alone: paced');
  const chain2 = b.open('chain2', ['.OPT2'], null, 2);
  b.deliver();
  assert.equal(chain.socket.pace, 2);
  const dash = b.open('dash', []);
  b.deliver();
  assert.equal(chain.socket.pace, null, 'a dashboard joined: every frame');
  b.close(dash);
  b.deliver();
  assert.equal(chain.socket.pace, 2, 'the dashboard left: paced again');
  b.close(chain);
  b.deliver();
  b.censusDone(chain2);
  assert.equal(chain2.share.role, 'leader');
  assert.equal(chain2.socket.pace, 2, 'a new leader asks what its tabs ask');
});
