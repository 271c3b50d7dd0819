import test from 'node:test';
import assert from 'node:assert/strict';

import { SORTABLE, ariaSort, nextSort, sortItems, validSort } from '../../static/js/stream/sort.js';
import { cleanPreferences, createPreferences } from '../../static/js/stream/io/preferences.js';

const value = (item, col) => item[col];

test('a header click cycles ascending, descending, the table\'s own order', () => {
  assert.deepEqual(nextSort(null, 'day_pnl'), { col: 'day_pnl', dir: 'asc' });
  assert.deepEqual(nextSort({ col: 'day_pnl', dir: 'asc' }, 'day_pnl'), { col: 'day_pnl', dir: 'desc' });
  assert.equal(nextSort({ col: 'day_pnl', dir: 'desc' }, 'day_pnl'), null);
  assert.deepEqual(nextSort({ col: 'day_pnl', dir: 'desc' }, 'mark'), { col: 'mark', dir: 'asc' });
  assert.equal(ariaSort({ col: 'mark', dir: 'desc' }, 'mark'), 'descending');
  assert.equal(ariaSort({ col: 'mark', dir: 'desc' }, 'bid'), 'none');
});

test('rows sort by value; no value sorts last either way; ties keep their order', () => {
  const rows = [
    { s: 'A', v: 2 }, { s: 'B', v: null }, { s: 'C', v: -1 }, { s: 'D', v: 2 }, { s: 'E', v: 10 },
  ];
  const names = (sort) => sortItems(rows, sort, (r, col) => r[col]).map((r) => r.s).join('');
  assert.equal(names(null), 'ABCDE', 'no sort: the table\'s own order');
  assert.equal(names({ col: 'v', dir: 'asc' }), 'CADEB');
  assert.equal(names({ col: 'v', dir: 'desc' }), 'EADCB', 'a tie keeps its order, no value still last');
  const syms = [{ s: 'SPY 590C' }, { s: 'AAPL' }, { s: 'SPY 60C' }];
  assert.deepEqual(sortItems(syms, { col: 's', dir: 'asc' }, value).map((r) => r.s), ['AAPL', 'SPY 60C', 'SPY 590C'], 'numbers in text sort as numbers');
  assert.deepEqual(sortItems([{ v: NaN }, { v: 1 }], { col: 'v', dir: 'asc' }, value).map((r) => r.v), [1, NaN]);
});

test('a stored sort must name a column of its table', () => {
  assert.deepEqual(validSort('positions', { col: 'theta', dir: 'desc' }), { col: 'theta', dir: 'desc' });
  assert.equal(validSort('positions', { col: 'bid', dir: 'asc' }), null);
  assert.equal(validSort('watchlist', null), null);
  assert.deepEqual(validSort('watchlist', { col: 'bid', dir: 'sideways' }), { col: 'bid', dir: 'asc' });
  assert.ok(SORTABLE.chain.includes('strike'));
});

test('preferences: the kept copy at once, the server\'s when it answers, a change saved', async () => {
  const store = new Map([['streamdesk.preferences.demo', JSON.stringify({ flashes: false, time_zone: 'Asia/Tokyo', sorts: {} })]]);
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  const applied = [];
  const sent = [];
  const server = { flashes: true, time_zone: 'Europe/Berlin', sorts: { positions: { col: 'mark', dir: 'asc' } } };
  const fetch = async (url, opts = {}) => {
    if (opts.method === 'PUT') {
      const body = JSON.parse(opts.body);
      sent.push(body);
      if (body.time_zone === 'Mars/Base') return { ok: false, status: 400, json: async () => ({ error: 'not a time zone' }) };
      Object.assign(server, body, { sorts: { ...server.sorts, ...(body.sorts || {}) } });
      for (const [t, v] of Object.entries(body.sorts || {})) if (v === null) delete server.sorts[t];
    }
    return { ok: true, status: 200, json: async () => structuredClone(server) };
  };
  const prefs = createPreferences({ user: 'demo', env: { fetch, storage, csrf: () => 'tok' }, apply: (p) => applied.push(p) });
  const started = prefs.start();
  assert.equal(applied[0].time_zone, 'Asia/Tokyo', 'this browser\'s copy first, before any answer');
  await started;
  assert.equal(prefs.get().time_zone, 'Europe/Berlin', 'then the server\'s');
  assert.equal(JSON.parse(store.get('streamdesk.preferences.demo')).time_zone, 'Europe/Berlin');
  assert.equal(await prefs.save({ sorts: { watchlist: { col: 'bid', dir: 'desc' } } }), '');
  assert.deepEqual(prefs.get().sorts, { positions: { col: 'mark', dir: 'asc' }, watchlist: { col: 'bid', dir: 'desc' } });
  assert.equal(await prefs.save({ sorts: { positions: null } }), '');
  assert.deepEqual(prefs.get().sorts, { watchlist: { col: 'bid', dir: 'desc' } });
  assert.equal(await prefs.save({ time_zone: 'Mars/Base' }), 'not a time zone');
  assert.deepEqual(sent.at(-1), { time_zone: 'Mars/Base' });
  assert.equal(prefs.get().time_zone, 'Europe/Berlin', 'a refused change is taken back');
  assert.deepEqual(cleanPreferences({ flashes: 'yes', sorts: [], extra: 1 }), { flashes: true, time_zone: 'America/New_York', sorts: {} });
});

test('the page\'s own copy of the preferences applies first, before any answer, in a fresh browser', async () => {
  // a browser that never kept a copy, a server slow to answer: flashes must already be off
  let answer;
  const fetch = () => new Promise((resolve) => { answer = resolve; });
  const applied = [];
  const prefs = createPreferences({
    user: 'demo',
    initial: { flashes: false, time_zone: 'Europe/Berlin', sorts: {} },
    env: { fetch, storage: null, csrf: () => 'tok' },
    apply: (p) => applied.push(p),
  });
  const started = prefs.start();
  assert.equal(applied.length, 1);
  assert.equal(applied[0].flashes, false, 'the server-rendered preferences, not the defaults');
  assert.equal(applied[0].time_zone, 'Europe/Berlin');
  answer({ ok: true, json: async () => ({ flashes: true, time_zone: 'America/New_York', sorts: {} }) });
  await started;
  assert.equal(prefs.get().flashes, true, 'then the server\'s answer wins');
});

test('two quick changes: sent one after the other, and the older answer never undoes the newer', async () => {
  // the server applies each PUT as it comes; a second click before the first answer
  // (ascending, then descending) must end descending on the screen and on the server
  const server = { flashes: true, time_zone: 'America/New_York', sorts: {} };
  const pending = [];
  const fetch = (url, opts = {}) => {
    if (opts.method !== 'PUT') return Promise.resolve({ ok: true, json: async () => structuredClone(server) });
    return new Promise((resolve) => pending.push({ body: JSON.parse(opts.body), resolve }));
  };
  const answer = (put) => {
    Object.assign(server.sorts, put.body.sorts);
    const state = structuredClone(server);
    put.resolve({ ok: true, json: async () => state });
  };
  const prefs = createPreferences({ user: 'demo', env: { fetch, storage: null, csrf: () => 'tok' }, apply: () => {} });
  await prefs.start();
  const asc = { col: 'quantity', dir: 'asc' };
  const desc = { col: 'quantity', dir: 'desc' };
  const first = prefs.save({ sorts: { positions: asc } });
  const second = prefs.save({ sorts: { positions: desc } });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(pending.length, 1, 'the second change waits for the first answer');
  assert.deepEqual(prefs.get().sorts.positions, desc, 'both applied at once, the newer shown');
  answer(pending[0]);
  assert.equal(await first, '');
  assert.deepEqual(prefs.get().sorts.positions, desc, 'the first answer does not undo the second click');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(pending.length, 2, 'then the second is sent');
  answer(pending[1]);
  assert.equal(await second, '');
  assert.deepEqual(server.sorts.positions, desc, 'the server holds the last click');
  assert.deepEqual(prefs.get().sorts.positions, desc);
});

test('the first read answered after a change never undoes it: the change\'s own answer wins', async () => {
  // a loaded server: the page's GET /api/preferences is answered only after the trader
  // sorted twice (its state is from before the second click): the screen stays descending
  let answerGet;
  const server = { flashes: true, time_zone: 'America/New_York', sorts: {} };
  const fetch = (url, opts = {}) => {
    if (opts.method !== 'PUT') return new Promise((resolve) => { answerGet = resolve; });
    Object.assign(server.sorts, JSON.parse(opts.body).sorts);
    const state = structuredClone(server);
    return Promise.resolve({ ok: true, json: async () => state });
  };
  const prefs = createPreferences({ user: 'demo', env: { fetch, storage: null, csrf: () => 'tok' }, apply: () => {} });
  const started = prefs.start();
  const asc = { col: 'quantity', dir: 'asc' };
  const desc = { col: 'quantity', dir: 'desc' };
  assert.equal(await prefs.save({ sorts: { positions: asc } }), '');
  const stale = structuredClone(server); // the server's state when it read for the GET
  assert.equal(await prefs.save({ sorts: { positions: desc } }), '');
  answerGet({ ok: true, json: async () => stale });
  await started;
  assert.deepEqual(prefs.get().sorts.positions, desc, 'the late first read does not take the click back');
});
