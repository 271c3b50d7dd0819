#!/usr/bin/env node
/*
 * Replays a snapshot and frames through the page's own reducer (static/js/stream/state.js)
 * and prints what the page would hold, projected for comparison with a fresh snapshot
 * (snapshot + frames = fresh snapshot, docs/streaming-contract.md).
 *
 *   node tests/js/tools/replay.mjs < input.json > state.json
 *
 * stdin:  {"snapshot": {<a snapshot frame or /api/snapshot body>}, "frames": [<frame>, …]}
 *         (`frames` may be absent: project a fresh snapshot with the same tool and compare.)
 * stdout: one JSON object, `comparable(state)` of state.js, keys sorted at every level:
 *   {"epoch": "E1", "seq": 12,
 *    "quotes":   {"<symbol>": {<quote fields>, "delayed": bool}},
 *    "greeks":   {"<streamer symbol>": {<greeks fields>}},
 *    "accounts": {"<link>:<account number>": {"balance": {…}, "positions": [{…}, … by symbol]}},
 *    "orders":   {"<link>:<order id>": {<order fields, legs and fills>, "account": "<number>"}},
 *    "watchlist": {"symbols": […], "version": n},
 *    "resyncs":  ["<reason>", …]}
 * `resyncs` is empty unless a frame made the page give up its state and reconnect (a seq
 * gap, another epoch, a `resync` frame): what follows such a frame was not applied.
 * Frames are applied as the page applies them: the snapshot as if it came over the stream,
 * then each frame in order (account frames by epoch and seq, quotes latest-wins, …).
 * Exit 2 on input that is not such JSON.
 */
import { applyFrame, applySnapshot, comparable, initialState } from '../../../static/js/stream/state.js';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
let input;
try {
  input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (!input || typeof input.snapshot !== 'object' || input.snapshot === null) throw new Error('no "snapshot" object');
  if (input.frames !== undefined && !Array.isArray(input.frames)) throw new Error('"frames" is not a list');
} catch (e) {
  process.stderr.write(`replay.mjs: ${e.message}\n`);
  process.exit(2);
}

let state = applySnapshot(initialState(), input.snapshot, 'stream');
state = { ...state, effects: [] }; // the first watchlist is no request
for (const frame of input.frames || []) state = applyFrame(state, frame);
const resyncs = state.effects.filter((e) => e.type === 'resync').map((e) => e.reason);
process.stdout.write(`${JSON.stringify({ ...comparable(state), resyncs })}\n`);
