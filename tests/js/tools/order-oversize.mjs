#!/usr/bin/env node
// The working exits larger than their position (stdin: {orders: [order + link, account],
// accounts: [{number, positions}]}), as the panel's script finds them (orders.js
// `oversizedExits`). stdout: {<link>:<id>: sentence}; tests/streaming/test_order_oversize.py
// compares them with the page the server renders (streaming/order_list.py).
import { oversizedExits } from '../../../static/js/stream/orders.js';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const { orders, accounts } = JSON.parse(text);
const byNumber = new Map(accounts.map((a) => [String(a.number), a]));
process.stdout.write(`${JSON.stringify(Object.fromEntries(oversizedExits(orders, byNumber)))}\n`);
