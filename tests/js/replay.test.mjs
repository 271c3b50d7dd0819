// tests/js/tools/replay.mjs: snapshot + frames through the page's reducer, projected.
// Run: node --test tests/js/
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const TOOL = fileURLToPath(new URL('./tools/replay.mjs', import.meta.url));

function replay(input) {
  const r = spawnSync(process.execPath, [TOOL], { input: typeof input === 'string' ? input : JSON.stringify(input), encoding: 'utf8' });
  return { status: r.status, out: r.stdout ? JSON.parse(r.stdout) : null, err: r.stderr };
}

const balance = (nlv) => ({ net_liquidating_value: nlv, cash: 10 });
const position = (symbol, quantity) => ({ symbol, streamer_symbol: symbol, quantity, direction: 'Long', average_open_price: 10 });
const order = (status, fills) => ({ id: '77', status, legs: [{ symbol: 'SPY', quantity: 2, fills }] });
const account = (nlv, positions) => ({ number: 'T1', link: 1, broker: 'tastytrade', label: 'tt', balance: balance(nlv), positions });
const base = {
  type: 'snapshot', epoch: 'E1', seq: 3,
  accounts: [account(100, [position('SPY', 1)])],
  quotes: { SPY: { bid: 500, ask: 501, t: 1000 } },
  greeks: {},
  orders: [{ ...order('Live', []), link: 1, account: 'T1' }],
  links: [{ id: 1, state: 'live' }],
  watchlist: { symbols: ['SPY'], version: 1 },
};
const acct = (type, seq, key, body) => ({ type, epoch: 'E1', seq, account: 'T1', link: 1, [key]: body, t: 2000 });
const frames = [
  acct('balance', 4, 'balance', { net_liquidating_value: 101 }),
  acct('order', 5, 'order', order('Filled', [{ id: '77:2', quantity: 2, price: 10 }])),
  acct('order', 5, 'order', order('Filled', [{ id: '77:2', quantity: 2, price: 10 }])), // replayed: ignored
  acct('position', 6, 'position', position('AAPL', 3)),
  { type: 'quotes', quotes: { SPY: { bid: 502, t: 1500 } }, greeks: {}, t: 1500 },
  { type: 'watchlist', symbols: ['SPY', 'AAPL'], version: 2 },
];

test('replay.mjs prints the projection of snapshot + frames', () => {
  const { status, out } = replay({ snapshot: base, frames });
  assert.equal(status, 0);
  assert.deepEqual(out, {
    epoch: 'E1',
    seq: 6,
    quotes: { SPY: { ask: 501, bid: 502, delayed: false, t: 1500 } },
    greeks: {},
    accounts: {
      '1:T1': {
        balance: { cash: 10, net_liquidating_value: 101 },
        positions: [
          { average_open_price: 10, direction: 'Long', quantity: 3, streamer_symbol: 'AAPL', symbol: 'AAPL' },
          { average_open_price: 10, direction: 'Long', quantity: 1, streamer_symbol: 'SPY', symbol: 'SPY' },
        ],
      },
    },
    orders: { '1:77': { account: 'T1', id: '77', legs: [{ fills: [{ id: '77:2', price: 10, quantity: 2 }], quantity: 2, symbol: 'SPY' }], status: 'Filled' } },
    watchlist: { symbols: ['SPY', 'AAPL'], version: 2 },
    metrics: {},
    resyncs: [],
  });
});

test('snapshot + frames equals the fresh snapshot, both projected by replay.mjs', () => {
  const fresh = {
    ...base,
    seq: 6,
    accounts: [account(101, [position('SPY', 1), position('AAPL', 3)])],
    quotes: { SPY: { bid: 502, ask: 501, t: 1500 } },
    orders: [{ ...order('Filled', [{ id: '77:2', quantity: 2, price: 10 }]), link: 1, account: 'T1' }],
    watchlist: { symbols: ['SPY', 'AAPL'], version: 2 },
  };
  assert.deepEqual(replay({ snapshot: base, frames }).out, replay({ snapshot: fresh }).out);
  // one frame lost on the way: not equal, and the gap says so
  const lossy = replay({ snapshot: base, frames: frames.filter((f) => f.seq !== 5) });
  assert.notDeepEqual(lossy.out, replay({ snapshot: fresh }).out);
  assert.match(lossy.out.resyncs[0], /sequence gap: had E1:4, got E1:6/);
});

test('replay.mjs refuses input that is not {snapshot, frames}', () => {
  for (const bad of ['not json', '{}', '{"snapshot": {}, "frames": 3}']) {
    const r = replay(bad);
    assert.equal(r.status, 2, bad);
    assert.match(r.err, /replay\.mjs: /);
  }
});
