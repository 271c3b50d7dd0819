#!/usr/bin/env node
// Times as the browser writes them (static/js/stream/times.js): stdin [{zone, ms, kind}],
// stdout the texts in the same order. tests/streaming/test_times_agree.py compares them with
// accounts/times.py, the server's rule.
import { setTimeZone, zoned } from '../../../static/js/stream/times.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const out = JSON.parse(text).map(({ zone, ms, kind }) => {
  setTimeZone(zone);
  return zoned(ms, kind);
});
process.stdout.write(`${JSON.stringify(out)}\n`);
