/*
 * The browser side of "One connection per browser" (docs/streaming-contract.md): a Web
 * Lock held for the leader's lifetime and a BroadcastChannel between the tabs of one
 * user. Thin: every decision is share.js's `shareStep`; this runs its actions.
 *
 * hooks: {own() -> {symbols, position}, lead(position|null) (open the stream from there),
 *         leaderState() (the reducer's state, for catch-ups), subscribe(symbols),
 *         unsubscribe(symbols), frame(frame), snapshot(snap), caughtUp(frames|null),
 *         status(status), role(role), connection() (the leader's status), login()}
 */
import { catchUp, createRing, initialShare, remember, shareNames, shareStep } from '../share.js';

export function createTabLink({ win, user, tab, hooks }) {
  const names = shareNames(user);
  const channel = new win.BroadcastChannel(names.channel);
  const ring = createRing();
  let s = initialShare(tab);
  let release = null; // resolves the leader lock's promise: the lock goes to the next tab
  let releaseOwn = null; // resolves this tab's own lock's promise (its presence)
  let present = false; // holds its own lock and is shown: only then does it take part
  let lifetime = null; // aborts this presence's pending lock requests when the page hides
  const watched = new Set(); // members whose own lock the leader waits for

  function step(ev) {
    const role = s.role;
    const [next, actions] = shareStep(s, { ...ev, own: hooks.own() });
    s = next;
    if (s.role !== role) hooks.role(s.role);
    for (const a of actions) run(a);
  }

  function post(msg) {
    try { channel.postMessage(msg); } catch (e) { /* a frame that cannot be cloned: never ours */ }
  }

  function run(a) {
    if (a.post) post(a.post);
    else if (a.timer) win.setTimeout(() => step({ type: 'censusDone' }), a.timer);
    else if ('open' in a) hooks.lead(a.open);
    else if (a.subscribe) hooks.subscribe(a.subscribe);
    else if (a.unsubscribe) hooks.unsubscribe(a.unsubscribe);
    else if ('pace' in a) hooks.pace(a.pace);
    else if (a.watch) watch(a.watch);
    else if (a.catchUp) {
      const frames = catchUp(ring, hooks.leaderState(), a.position);
      post({ t: 'catchup', from: tab, to: a.catchUp, frames, status: hooks.connection() });
    }
    else if (a.apply) hooks.frame(a.apply);
    else if (a.applySnapshot) hooks.snapshot(a.applySnapshot);
    else if ('frames' in a) hooks.caughtUp(a.frames);
    else if (a.status) hooks.status(a.status);
    else if (a.login) hooks.login();
  }

  channel.onmessage = (ev) => { if (present) step({ type: 'message', msg: ev.data }); };

  const ownLock = (id) => `streamdesk.tab.${user}.${id}`;

  /** A member's own lock is granted to us only once that tab has gone: drop it then. */
  function watch(member) {
    if (watched.has(member) || !lifetime) return;
    watched.add(member);
    win.navigator.locks.request(ownLock(member), { signal: lifetime.signal }, () => {
      watched.delete(member);
      step({ type: 'message', msg: { t: 'leave', from: member } });
    }).catch(() => watched.delete(member)); // this page hid first
  }

  /** Take this tab's own lock (held while the page is here), then join and queue to lead. */
  function arrive() {
    const here = new AbortController();
    lifetime = here;
    win.navigator.locks.request(ownLock(tab), { signal: here.signal }, () => new Promise((resolve) => {
      releaseOwn = resolve;
      present = true;
      step({ type: 'start' });
      win.navigator.locks.request(names.lock, { signal: here.signal }, () => new Promise((done) => {
        release = done;
        step({ type: 'lock' });
      })).catch(() => { /* the page hid while queued */ });
    })).catch(() => { /* the page hid before it arrived */ });
  }

  return {
    role: () => s.role,
    leading: () => s.role === 'leader',
    /** A plain copy for window.streamdesk.state(). */
    info: () => ({ tab, role: s.role, members: Array.from(s.members.keys()), union: s.union.slice(), pace: s.pace, joined: s.joined }),
    start: arrive,
    /** The leader received (and applied) a frame: every other tab gets it. */
    relay(frame) {
      if (s.role !== 'leader' || frame.type === 'pong') return;
      remember(ring, frame);
      post({ t: 'frame', from: tab, frame });
      if (frame.type === 'snapshot' || frame.type === 'resumed') step({ type: 'live' });
    },
    relaySnapshot(snap) {
      if (s.role === 'leader') post({ t: 'snap', from: tab, snap });
    },
    relayStatus(status) {
      if (s.role === 'leader') post({ t: 'status', from: tab, status });
    },
    /** The session ended (4401): the other tabs go to log in too. */
    relayLogin() {
      if (s.role === 'leader') post({ t: 'login', from: tab });
    },
    /** This tab's own symbols changed. */
    ownChanged: () => step({ type: 'own' }),
    /** The page goes (or into the bfcache): it leaves, lets the lead go, and listens no more. */
    pageHidden() {
      if (present && s.role === 'follower') post({ t: 'leave', from: tab });
      present = false;
      if (lifetime) lifetime.abort();
      lifetime = null;
      watched.clear();
      for (const done of [release, releaseOwn]) if (done) done();
      release = releaseOwn = null;
      s = { ...initialShare(tab), sawLeader: true };
    },
    pageShown: arrive,
  };
}
