#!/usr/bin/env node
// Each order's words (stdin: [order]) as the panel's script writes them (order-terms.js):
// its terms, its link and each leg's description, filled part and fills.
// stdout: [{terms, link, legs: [{desc, filled, fills: [text]}]}]; tests/streaming/test_order_terms.py
// compares them with the server's (streaming/order_terms.py).
import { fillText, groupText, legFilledText, legText, orderTerms } from '../../../static/js/stream/order-terms.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const out = JSON.parse(text).map((o) => ({
  terms: orderTerms(o),
  link: groupText(o, o.size ?? null), // the panel's count of the group's orders (a test's field)
  legs: (o.legs || []).map((leg) => ({
    desc: legText(leg),
    filled: legFilledText(leg),
    fills: (leg.fills || []).map(fillText),
  })),
}));
process.stdout.write(`${JSON.stringify(out)}\n`);
