#!/usr/bin/env node
// Each order's terms (stdin: [order]) as the panel's script writes them (order-terms.js).
// stdout: [{terms, link}]; tests/streaming/test_order_terms.py compares them with the
// server's (streaming/order_terms.py).
import { groupText, orderTerms } from '../../../static/js/stream/order-terms.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const out = JSON.parse(text).map((o) => ({ terms: orderTerms(o), link: groupText(o) }));
process.stdout.write(`${JSON.stringify(out)}\n`);
