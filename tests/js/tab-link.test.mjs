// The browser wiring of "One connection per browser" (static/js/stream/io/tab-link.js) run
// between several simulated tabs of one browser: a Web Locks manager and BroadcastChannel
// that behave as the browser's do (a lock is released when its holder goes; a message
// reaches every other open channel of the name, later). What is proven here is who the
// leader counts as a member: a tab that went away is never one. Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';

import { CENSUS_MS } from '../../static/js/stream/share.js';
import { createTabLink } from '../../static/js/stream/io/tab-link.js';

/** One browser profile: its lock manager and its channels, shared by its tabs. */
function createBrowser() {
  const held = new Map(); // lock name -> holder tab
  const queues = new Map(); // lock name -> [{tab, grant, signal}]
  const channels = new Set();

  function grantNext(name) {
    if (held.has(name)) return;
    const queue = queues.get(name) || [];
    while (queue.length) {
      const next = queue.shift();
      if (next.tab.dead || (next.signal && next.signal.aborted)) continue;
      held.set(name, next.tab);
      next.grant(() => {
        if (held.get(name) === next.tab) held.delete(name);
        grantNext(name);
      });
      return;
    }
  }

  function windowFor(tab) {
    return {
      setTimeout: (fn, ms) => setTimeout(() => { if (!tab.dead) fn(); }, ms),
      BroadcastChannel: class {
        constructor(name) { this.name = name; this.tab = tab; this.onmessage = null; channels.add(this); }
        postMessage(data) {
          const copy = structuredClone(data);
          for (const c of channels) {
            if (c === this || c.name !== this.name) continue;
            setTimeout(() => { if (channels.has(c) && !c.tab.dead && c.onmessage) c.onmessage({ data: structuredClone(copy) }); }, 0);
          }
        }
        close() { channels.delete(this); }
      },
      navigator: {
        locks: {
          request(name, options, callback) {
            const cb = callback || options;
            const signal = callback ? options.signal : undefined;
            return new Promise((resolve, reject) => {
              if (signal) signal.addEventListener('abort', () => reject(new Error('AbortError')));
              const grant = (release) => {
                let result;
                try { result = cb({ name }); } catch (e) { release(); reject(e); return; }
                Promise.resolve(result).then((v) => { release(); resolve(v); }, (e) => { release(); reject(e); });
              };
              if (!queues.has(name)) queues.set(name, []);
              queues.get(name).push({ tab, grant, signal });
              setTimeout(() => grantNext(name), 0);
            });
          },
        },
      },
    };
  }

  return {
    held,
    /** A tab (a page) with its own symbols; `kill()` is a crash: no pagehide, no message. */
    open(id, symbols = []) {
      const tab = { id, dead: false, symbols, leads: [], subs: [] };
      tab.link = createTabLink({
        win: windowFor(tab),
        user: 'demo',
        tab: id,
        hooks: {
          own: () => ({ symbols: tab.symbols, position: { epoch: 'E1', seq: 0, canResume: true } }),
          lead: (position) => tab.leads.push(position),
          leaderState: () => null,
          subscribe: (s) => tab.subs.push(['+', ...s]),
          unsubscribe: (s) => tab.subs.push(['-', ...s]),
          frame() {}, snapshot() {}, caughtUp() {}, status() {}, role() {},
          connection: () => 'live',
          login() {},
        },
      });
      tab.link.start();
      tab.kill = () => {
        tab.dead = true;
        for (const [name, holder] of [...held]) {
          if (holder === tab) { held.delete(name); setTimeout(() => grantNext(name), 0); }
        }
        for (const c of [...channels]) if (c.tab === tab) channels.delete(c);
      };
      /** A close: pagehide (the page's listener runs), then the page is gone. */
      tab.close = async () => {
        tab.link.pageHidden();
        await settle(); // the closing page is still there while others react to its leaving
        tab.kill();
      };
      return tab;
    },
  };
}

const settle = (ms = 5) => new Promise((r) => setTimeout(r, ms));

async function until(what, check, ms = 2000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await settle();
  }
  assert.fail(`timed out waiting for ${what}`);
}

const members = (tab) => [...tab.link.info().members].sort();

/** `count` tabs of one browser, all joined: the leader `a` (SPY), then b (KO) and c (DIA). */
async function joined(count) {
  const browser = createBrowser();
  const a = browser.open('a', ['SPY']);
  await until('a leads', () => a.link.role() === 'leader');
  const followers = [['b', ['KO']], ['c', ['DIA']]].slice(0, count - 1).map(([id, symbols]) => browser.open(id, symbols));
  const ids = followers.map((t) => t.id).join();
  await until(`${ids} joined`, () => members(a).join() === ids);
  return [a, ...followers];
}

test('the first tab leads; the others are its members, with their symbols in its union', async () => {
  const [a, b, c] = await joined(3);
  assert.equal(b.link.role(), 'follower');
  assert.deepEqual(a.link.info().union, ['SPY', 'KO', 'DIA']);
});

test('a leader that closes is not a member of the next leader (it answers no census while it goes)', async () => {
  const [a, b, c] = await joined(3);

  a.link.pageHidden(); // pagehide; the page lingers while the next leader takes its census
  await until('a new leader', () => [b, c].some((t) => t.link.role() === 'leader'));
  const leader = [b, c].find((t) => t.link.role() === 'leader');
  const other = leader === b ? c : b;
  await settle(CENSUS_MS + 50);
  a.kill();
  assert.deepEqual(members(leader), [other.id]);
  assert.deepEqual(leader.link.info().union.sort(), ['DIA', 'KO']);
});

test('a follower that closes leaves the members and its symbols leave the union', async () => {
  const [a, b] = await joined(2);
  await b.close();
  await until('b left', () => members(a).length === 0);
  assert.deepEqual(a.subs.at(-1), ['-', 'KO']);
});

test('a follower that crashes (no pagehide, no message) leaves the members when its lock goes', async () => {
  const [a, b, c] = await joined(3);
  b.kill();
  await until('b dropped', () => members(a).join() === 'c');
  assert.deepEqual(a.subs.at(-1), ['-', 'KO']);
  assert.equal(a.link.role(), 'leader');
});

test('a follower that crashes during a census is not counted by the new leader', async () => {
  const [a, b, c] = await joined(3);
  a.kill();
  await until('a new leader', () => [b, c].some((t) => ['census', 'leader'].includes(t.link.role())));
  const leader = [b, c].find((t) => t.link.role() !== 'follower');
  const other = leader === b ? c : b;
  await until('the other answered', () => members(leader).join() === other.id);
  other.kill();
  await until('the other dropped', () => members(leader).length === 0);
  await until('leading', () => leader.link.role() === 'leader');
  assert.deepEqual(leader.link.info().union, leader.symbols);
});

test('a page back from the bfcache joins again and is watched again', async () => {
  const [a, b] = await joined(2);
  b.link.pageHidden();
  await until('b left', () => members(a).length === 0);
  b.link.pageShown();
  await until('b is a member again', () => members(a).join() === 'b');
  assert.equal(b.link.role(), 'follower');
  b.kill();
  await until('b dropped after its crash', () => members(a).length === 0);
});
