/*
 * One connection per browser (docs/streaming-contract.md "One connection per browser"),
 * the decisions as pure functions: whether a page may share, the symbol union the
 * leader's socket subscribes, which `subscribed` rejections reach which tab, where a new
 * leader resumes, how a late tab is caught up, and the leader/follower protocol as a
 * reducer (`shareStep`: state + event → state + actions). No DOM, no timers, no
 * BroadcastChannel, no locks: io/tab-link.js does those. Tests: tests/js/share.test.mjs.
 */
import { ACCOUNT_FRAMES, formatPosition, num } from './contract.js';

/** How long a new leader that took over from another waits for the tabs' answers. */
export const CENSUS_MS = 300;
/** Account frames the leader keeps to catch up a tab that opens late (the server's log size). */
export const RING_SIZE = 2000;

/** The lock and channel names: per user, so tabs of another user never share. */
export function shareNames(user) {
  return { lock: `streamdesk.leader.${user}`, channel: `streamdesk.tabs.${user}` };
}

/** Whether this page shares its browser's connection: it needs Web Locks and
 *  BroadcastChannel, the automatic transport, and no `?shared=0`. */
export function canShare({ hasLocks, hasBroadcast, mode, optOut }) {
  return !!(hasLocks && hasBroadcast) && mode === 'auto' && !optOut;
}

// ------------------------------------------------------------------ symbols

/** Every tab's own symbols as one list, each once, in the order first named (this tab's first). */
export function symbolUnion(lists) {
  const all = new Set();
  for (const list of lists) for (const sym of list || []) all.add(sym);
  return [...all];
}

/** What the socket must add and remove to go from `before` to `after`. */
export function unionChange(before, after) {
  const b = new Set(before);
  const a = new Set(after);
  return { add: after.filter((s) => !b.has(s)), remove: before.filter((s) => !a.has(s)) };
}

/** A frame as one tab sees it: a `subscribed` answer names only the rejections of the
 *  symbols this tab asked for (its own) or the user's watchlist's; the rest is as sent. */
export function frameForTab(frame, own, watchlist) {
  if (!frame || frame.type !== 'subscribed' || !Array.isArray(frame.rejected)) return frame;
  const mine = (r) => r && (own.has(r.symbol) || watchlist.includes(r.symbol));
  return { ...frame, rejected: frame.rejected.filter(mine) };
}

// ------------------------------------------------------------------ positions

/** A tab's position as it reports it: {epoch, seq, canResume}. */
export function positionOf(state) {
  return { epoch: state.epoch, seq: state.seq, canResume: !!state.canResume && !state.awaitingSnapshot };
}

/**
 * Where a new leader resumes: the oldest position among the tabs (itself included) that
 * hold a resumable position of the leader's own epoch, so that every tab gets every frame
 * after its own (the newer ones ignore the replayed frames they have as duplicates). A
 * leader without a resumable position takes a snapshot (null).
 */
export function handoverPosition(own, others) {
  if (!own || !own.canResume) return null;
  let seq = own.seq;
  for (const p of others) if (p && p.canResume && p.epoch === own.epoch && num(p.seq) !== null && p.seq < seq) seq = p.seq;
  return formatPosition(own.epoch, seq);
}

// ------------------------------------------------------------------ catching a late tab up

/** The leader's memory of its stream: the last `hello` and account frames. */
export function createRing(size = RING_SIZE) {
  return { size, hello: null, frames: [] };
}

/** Remember one frame the leader received (changes `ring`: it is the leader's alone). */
export function remember(ring, frame) {
  if (!frame || typeof frame !== 'object') return ring;
  if (frame.type === 'hello') ring.hello = frame;
  else if (ACCOUNT_FRAMES.has(frame.type) && num(frame.seq) !== null) {
    ring.frames.push(frame);
    if (ring.frames.length > ring.size) ring.frames.splice(0, ring.frames.length - ring.size);
  }
  return ring;
}

/**
 * The frames that bring a tab at `position` ({epoch, seq}) to the leader's state, as a
 * resuming socket would get them: `hello` (without its server time: it is old), `resumed`,
 * the account frames after the tab's seq, the link states, the current quotes and greeks.
 * null when the leader cannot prove them complete (no stream yet, another epoch, frames
 * older than it kept): the tab reads a snapshot instead.
 */
export function catchUp(ring, leader, position) {
  if (!ring.hello || !leader || leader.epoch === null || leader.awaitingSnapshot) return null;
  if (!position || !position.canResume || position.epoch !== leader.epoch) return null;
  const from = position.seq;
  const bySeq = new Map(); // a replay after a resume may have brought a frame twice
  for (const f of ring.frames) {
    const seq = num(f.seq);
    if ((f.epoch ?? leader.epoch) === leader.epoch && seq > from && seq <= leader.seq) bySeq.set(seq, f);
  }
  const frames = [];
  for (let seq = from + 1; seq <= leader.seq; seq++) {
    if (!bySeq.has(seq)) return null;
    frames.push(bySeq.get(seq));
  }
  const { server_time: _old, ...hello } = ring.hello; // eslint-disable-line no-unused-vars
  return [
    hello,
    { type: 'resumed', epoch: leader.epoch, from, count: frames.length },
    ...frames,
    ...Array.from(leader.links.values(), (link) => ({ type: 'status', link })),
    { type: 'quotes', quotes: Object.fromEntries(leader.quotes), greeks: Object.fromEntries(leader.greeks) },
  ];
}

// ------------------------------------------------------------------ the protocol

/**
 * A tab's part in the sharing: `role` is `follower` until the lock is granted, then
 * `census` (a leader that took over asks the tabs' positions first) and `leader`.
 * `members`: the other tabs (tab id → {symbols, position}), known to the leader.
 * `joined`: a follower applies relayed frames only once it was caught up (or answered a
 * new leader's census: that leader's stream resumes from its position).
 * `sawLeader`: some leader relayed to this tab (a takeover needs a census).
 */
export function initialShare(tab) {
  return { tab, role: 'follower', members: new Map(), joined: false, sawLeader: false, union: [], pace: null, live: false, waiting: [], status: 'connecting' };
}

/**
 * The pace the leader's socket asks (`pace`, docs/streaming-contract.md): the fastest any
 * tab asks; a tab that asks none (null: a dashboard) wants every frame, so then none.
 */
export function sharedPace(paces) {
  let pace = 0;
  for (const p of paces) {
    if (typeof p !== 'number' || !(p > 0)) return null;
    pace = Math.max(pace, p);
  }
  return pace || null;
}

/**
 * One event → [next state, actions]. Events: {type: 'start'|'lock'|'censusDone'|'own'|
 * 'message'|'live'|'leave', own: {symbols, position}, msg}. Actions: {post: message},
 * {timer: ms} (then 'censusDone'), {open: position|null}, {subscribe: symbols},
 * {unsubscribe: symbols}, {watch: tab} (drop that member when it goes), {catchUp: tab,
 * position}, {apply: frame}, {applySnapshot: snap},
 * {frames: [...] | null} (a catch-up for this tab; null: read a snapshot), {status}, {login}.
 * Messages on the channel: {t: 'member', from, symbols, position} | {t: 'leave', from} |
 * {t: 'census', from} | {t: 'frame', from, frame} | {t: 'snap', from, snap} |
 * {t: 'status', from, status} | {t: 'login', from} | {t: 'catchup', from, to, frames, status} (the leader's
 * connection, for the tab's pill).
 */
export function shareStep(s, ev) {
  const out = [];
  const member = (own) => ({ t: 'member', from: s.tab, symbols: own.symbols, position: own.position, pace: own.pace ?? null });
  switch (ev.type) {
    case 'start': // a follower says it is here (the leader, if any, catches it up)
      return [{ ...s, joined: false }, [{ post: member(ev.own) }]];
    case 'lock': { // granted: the first tab opens at once; a takeover asks the tabs first
      const next = { ...s, role: s.sawLeader ? 'census' : 'leader', members: new Map(), live: false, waiting: [] };
      out.push({ post: { t: 'census', from: s.tab } });
      if (next.role === 'census') out.push({ timer: CENSUS_MS });
      else {
        next.union = symbolUnion([ev.own.symbols]);
        next.pace = sharedPace([ev.own.pace]);
        out.push({ open: handoverPosition(ev.own.position, []) });
      }
      return [next, out];
    }
    case 'censusDone': {
      if (s.role !== 'census') return [s, out];
      const others = Array.from(s.members.values(), (m) => m.position);
      const union = symbolUnion([ev.own.symbols, ...Array.from(s.members.values(), (m) => m.symbols)]);
      const pace = sharedPace([ev.own.pace, ...Array.from(s.members.values(), (m) => m.pace)]);
      return [{ ...s, role: 'leader', union, pace }, [{ open: handoverPosition(ev.own.position, others) }]];
    }
    case 'own': { // this tab's own symbols changed
      if (s.role === 'follower') return [s, [{ post: member(ev.own) }]];
      return resubscribe(s, ev.own, out);
    }
    case 'live': { // the leader's stream delivered its snapshot or `resumed`: catch the waiting up
      if (s.role !== 'leader') return [s, out];
      for (const w of s.waiting) out.push({ catchUp: w.tab, position: w.position });
      return [{ ...s, live: true, waiting: [] }, out];
    }
    case 'message':
      return onMessage(s, ev.msg || {}, ev.own, out);
    default:
      return [s, out];
  }
}

function resubscribe(s, own, out) {
  const union = symbolUnion([own.symbols, ...Array.from(s.members.values(), (m) => m.symbols)]);
  const pace = sharedPace([own.pace, ...Array.from(s.members.values(), (m) => m.pace)]);
  if (s.role === 'leader') {
    const { add, remove } = unionChange(s.union, union);
    if (add.length) out.push({ subscribe: add });
    if (remove.length) out.push({ unsubscribe: remove });
    if (pace !== s.pace) out.push({ pace });
  }
  return [{ ...s, union, pace }, out];
}

function onMessage(s, msg, own, out) {
  const leading = s.role === 'leader' || s.role === 'census';
  switch (msg.t) {
    case 'member': {
      if (!leading || typeof msg.from !== 'string') return [s, out];
      const known = s.members.has(msg.from);
      const next = { ...s, members: new Map(s.members).set(msg.from, { symbols: Array.isArray(msg.symbols) ? msg.symbols : [], position: msg.position || null, pace: typeof msg.pace === 'number' ? msg.pace : null }) };
      if (!known) out.push({ watch: msg.from }); // dropped when its own lock goes (io/tab-link.js)
      if (!known && s.role === 'leader') { // a tab that joined after this leader's stream opened
        if (s.live) out.push({ catchUp: msg.from, position: msg.position || null });
        else next.waiting = [...s.waiting.filter((w) => w.tab !== msg.from), { tab: msg.from, position: msg.position || null }];
      }
      return resubscribe(next, own, out);
    }
    case 'leave': {
      if (!leading || !s.members.has(msg.from)) return [s, out];
      const members = new Map(s.members);
      members.delete(msg.from);
      return resubscribe({ ...s, members, waiting: s.waiting.filter((w) => w.tab !== msg.from) }, own, out);
    }
    case 'census': // a new leader: answer, and take its stream from its first frame
      if (leading) return [s, out];
      return [{ ...s, joined: true, sawLeader: true }, [{ post: { t: 'member', from: s.tab, symbols: own.symbols, position: own.position, pace: own.pace ?? null } }]];
    case 'catchup':
      if (leading || msg.to !== s.tab) return [s, out];
      out.push({ frames: Array.isArray(msg.frames) ? msg.frames : null });
      if (typeof msg.status === 'string') out.push({ status: msg.status });
      return [{ ...s, joined: true, sawLeader: true, status: msg.status || s.status }, out];
    case 'frame':
      if (leading) return [s, out];
      if (!s.joined) return [{ ...s, sawLeader: true }, out];
      return [s, [{ apply: msg.frame }]];
    case 'snap':
      if (leading) return [s, out];
      if (!s.joined) return [{ ...s, sawLeader: true }, out];
      return [s, [{ applySnapshot: msg.snap }]];
    case 'login': // the leader's stream ended with the session (4401): every tab goes to log in
      return leading ? [s, out] : [s, [{ login: true }]];
    case 'status':
      if (leading) return [s, out];
      return [{ ...s, status: msg.status, sawLeader: true }, [{ status: msg.status }]];
    default:
      return [s, out];
  }
}
