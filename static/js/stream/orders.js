/*
 * The orders panel's rules, pure (docs/streaming-contract.md "Orders"; the server's
 * streaming/order_list.py follows the same ones): newest first by the order key
 * (placed ms, link, id), status groups, the bound (the newest ORDERS_KEPT orders and
 * every working one), the panel's filter, the cursor that asks `GET /api/orders` for older
 * orders, and pages of older orders merged in. No DOM, no clock.
 *
 * Older orders never enter the reducer's state: they are history, not news (an order the
 * tab had not seen would notify its fills), and the stream does not number them. The panel
 * lists the state's orders and, below them, the pages it read; an order in both is the
 * state's copy (a frame replaces an order, whichever list it was in). And which working
 * exits are larger than the position they close (`oversizedExits`).
 */
import { normalizeSymbol, num, orderKey } from './contract.js';
import { displayName, fmt } from './format.js';
import { fromPosition as instrumentOf } from './instruments.js';
import { groupName } from './order-terms.js';

export const ORDERS_KEPT = 50;
/** The orders changed last are kept too (`_rank`, the reducer's count of changes): an old
 *  order that just filled stays listed, and the step that filled it still holds it (the
 *  notifications compare a step's orders with the one before). */
export const RECENT_CHANGES_KEPT = 10;
export const PAGE_SIZE = 50;
export const FILLED_STATUSES = new Set(['Filled']);
export const ENDED_STATUSES = new Set(['Cancelled', 'Rejected', 'Expired', 'Removed', 'Partially Removed', 'Replaced', 'Done For Day']);
/** The status filter's values (the API's `status`), with the words the panel shows. */
export const STATUS_GROUPS = { all: 'All', working: 'Working', filled: 'Filled', ended: 'Cancelled / rejected / expired' };

/** `filled`, `ended` or `working` (an order that can still change). */
export function statusGroup(status) {
  if (FILLED_STATUSES.has(status)) return 'filled';
  if (ENDED_STATUSES.has(status)) return 'ended';
  return 'working';
}

const whole = (v) => {
  const n = num(v);
  return n === null ? 0 : Math.trunc(n);
};

/** The order's link: its own field (snapshot, API), else the prefix of the state's key. */
export function linkOf(o) {
  if (o.link !== undefined && o.link !== null) return whole(o.link);
  const key = o._key === undefined ? '' : String(o._key);
  const id = String(o.id);
  return key.length > id.length && key.endsWith(`:${id}`) ? whole(key.slice(0, key.length - id.length - 1)) : 0;
}

/** The order's account number: the state's, else the order's own. */
export const accountOf = (o) => {
  const a = o._account ?? o.account ?? null;
  return a === null || a === undefined ? '' : String(a);
};

/** When the broker received the order (ms): `received_at`, else `updated_at`, else 0. An
 *  order keeps its place while it changes; the brokers list their history in this order. */
export const placedMs = (o) => whole(o.received_at) || whole(o.updated_at);

/** The key `[placed ms, link, id]` every list is ordered by (newest first). */
export const sortKey = (o) => [placedMs(o), linkOf(o), String(o.id)];

/** <0 when key `a` comes before `b` in the newest-first order. */
export function compareKeys(a, b) {
  if (a[0] !== b[0]) return b[0] - a[0];
  if (a[1] !== b[1]) return b[1] - a[1];
  return a[2] === b[2] ? 0 : a[2] < b[2] ? 1 : -1;
}

export const compareOrders = (a, b) => compareKeys(sortKey(a), sortKey(b));
export const newestFirst = (orders) => Array.from(orders).sort(compareOrders);
export const keyOf = (o) => (o._key !== undefined ? String(o._key) : orderKey(o.id, o.link));

/** The orders a bounded list keeps: the newest `kept`, every working one and the
 *  RECENT_CHANGES_KEPT changed last. A Map in, the same Map out when nothing goes
 *  (identity tells the renderer nothing changed). */
export function boundOrders(orders, kept = ORDERS_KEPT) {
  if (orders.size <= kept) return orders;
  const keep = new Set();
  newestFirst(orders.values()).forEach((o, i) => { if (i < kept || statusGroup(o.status) === 'working') keep.add(o); });
  const byChange = Array.from(orders.values()).sort((a, b) => (b._rank ?? 0) - (a._rank ?? 0));
  for (const o of byChange.slice(0, RECENT_CHANGES_KEPT)) keep.add(o);
  if (keep.size === orders.size) return orders;
  return new Map(Array.from(orders).filter(([, o]) => keep.has(o)));
}

/** The key of the oldest of the newest `kept` orders (a bounded list holds every order
 *  at or above it), or null for none. */
export function windowFloor(orders, kept = ORDERS_KEPT) {
  const top = newestFirst(orders).slice(0, kept);
  return top.length ? sortKey(top[top.length - 1]) : null;
}

export const formatCursor = (key) => `${key[0]}:${key[1]}:${key[2]}`;

/** Whether an order passes the panel's filter `{account, status}` ('' / 'all': any). */
export function matchesFilter(o, filter) {
  if (filter.account && accountOf(o) !== filter.account) return false;
  return !filter.status || filter.status === 'all' || statusGroup(o.status) === filter.status;
}

/** What the panel says for an order's account, as the account cards do: the broker,
 *  and the account's label with its number. `accounts`: number -> {broker, label};
 *  `links`: link id (text) -> {broker, label}. */
export function accountName(o, accounts, links) {
  const number = accountOf(o);
  const acct = accounts.get(number);
  const link = links.get(String(linkOf(o)));
  const broker = String((acct && acct.broker) || (link && link.broker) || o.broker || '');
  const label = String((acct && acct.label) || (link && link.label) || '');
  return { broker, label, number, text: [label, number].filter(Boolean).join(' ') };
}

/** The pages of older orders the panel read for one filter: none yet. */
export const noOlder = () => ({ items: [], next: undefined, done: false, asked: false });

/** The cursor for the next page: the last page's `next`, else the oldest order of the
 *  state's window (null: from the newest). */
export function olderCursor(stateOrders, older) {
  if (older.asked) return older.next ?? null;
  const floor = windowFloor(stateOrders);
  return floor ? formatCursor(floor) : null;
}

/** The query of the next page (`?account=&status=&before=&limit=`). */
export function olderQuery(filter, cursor, limit = PAGE_SIZE) {
  const q = new URLSearchParams();
  if (filter.account) q.set('account', filter.account);
  if (filter.status && filter.status !== 'all') q.set('status', filter.status);
  if (cursor) q.set('before', cursor);
  q.set('limit', String(limit));
  return q.toString();
}

/** `older` with a page of the API (`{orders, next}`) added: one copy per key (the page's). */
export function addOlderPage(older, page) {
  const byKey = new Map(older.items.map((o) => [keyOf(o), o]));
  for (const o of Array.isArray(page.orders) ? page.orders : []) {
    if (o && o.id !== undefined && o.id !== null) byKey.set(orderKey(o.id, o.link), o);
  }
  const next = page.next === undefined ? null : page.next;
  return { items: newestFirst(byKey.values()), next, done: next === null, asked: true };
}

/** `older` with the orders the state no longer holds but the panel showed (`gone`), once
 *  the trader paged older ones in: the list stays continuous as new orders push the
 *  oldest of the state's out. Before any page, the bound applies. */
export function keepGone(older, gone) {
  if (!older.asked || !gone.length) return older;
  const byKey = new Map(older.items.map((o) => [keyOf(o), o]));
  for (const o of gone) if (!byKey.has(keyOf(o))) byKey.set(keyOf(o), o);
  return { ...older, items: newestFirst(byKey.values()) };
}

/** The panel's list: the state's orders and the older pages' (the state's copy wins),
 *  those the filter passes, newest first. Each entry: {key, order, older}, and a linked
 *  order's member its group's `size`: the orders of the group the panel knows, whatever
 *  the filter shows of them. */
export function panelList(stateOrders, older, filter) {
  const all = new Map();
  for (const o of stateOrders) all.set(keyOf(o), { key: keyOf(o), order: o, older: false });
  for (const o of older.items) {
    const key = keyOf(o);
    if (!all.has(key)) all.set(key, { key, order: o, older: true });
  }
  const sizes = groupSizes(Array.from(all.values(), (r) => r.order));
  const rows = Array.from(all.values()).filter((r) => matchesFilter(r.order, filter))
    .map((r) => (r.order.group ? { ...r, size: sizes.get(groupKey(r.order)) } : r));
  return linkedTogether(rows.sort((a, b) => compareOrders(a.order, b.order)));
}

/** A linked order's members in the order a trader reads them: the trigger (entry), then
 *  the take profit, the stop loss, the others. */
export const ROLE_ORDER = ['trigger', 'take_profit', 'stop_loss', 'member'];

const groupKey = (o) => (o.group ? `${linkOf(o)}|${o.group.id}` : null);

/** How many orders of each linked group (`<link>|<group id>`) are among `orders`. */
export function groupSizes(orders) {
  const sizes = new Map();
  for (const o of orders) {
    const g = groupKey(o);
    if (g !== null) sizes.set(g, (sizes.get(g) || 0) + 1);
  }
  return sizes;
}

/** What Cancel on an order asks: a linked order's member about its group, which the
 *  broker cancels with it (its working orders among `orders`, the state's), a single order
 *  by its id. */
export function cancelQuestion(order, orders, account) {
  if (!order.group) return `Cancel order ${order.id} (${account})?`;
  const g = groupKey(order);
  let working = 0;
  for (const o of orders) if (groupKey(o) === g && statusGroup(o.status) === 'working') working += 1;
  return `Cancel the ${groupName(order, null, 'group')}: ${working} working order${working === 1 ? '' : 's'} (${account})?`;
}

/** Rows with each linked order's members together, at the place of its newest member,
 *  in `ROLE_ORDER` (then by key), each member after the first marked `member: true`:
 *  a bracket reads as one entry with its members, not as orders scattered by time. */
export function linkedTogether(rows) {
  const groups = new Map();
  for (const row of rows) {
    const g = groupKey(row.order);
    if (g !== null) (groups.get(g) || groups.set(g, []).get(g)).push(row);
  }
  const rank = (row) => {
    const i = ROLE_ORDER.indexOf(row.order.group.role);
    return i < 0 ? ROLE_ORDER.length : i;
  };
  const out = [];
  const placed = new Set();
  for (const row of rows) {
    const g = groupKey(row.order);
    if (g === null) { out.push(row); continue; }
    if (placed.has(g)) continue;
    placed.add(g);
    const members = groups.get(g).slice().sort((a, b) => rank(a) - rank(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    members.forEach((m, i) => out.push(i === 0 ? m : { ...m, member: true }));
  }
  return out;
}

/** The URL of a link to a CSV file: its path, the account (none: all) and the page's time zone. */
export function exportHref(path, account, zone) {
  const q = new URLSearchParams();
  if (account) q.set('account', account);
  if (zone) q.set('tz', zone);
  const query = q.toString();
  return query ? `${path}?${query}` : path;
}

// ------------------------------------------------------------------ an exit larger than its position

/** The actions that close what an account holds: the side each closes (a sell closes a
 *  long, a buy a short). A plain `sell`/`buy` closes only what is held on the other side. */
const CLOSES = { 'sell to close': 'Long', sell_to_close: 'Long', 'buy to close': 'Short', buy_to_close: 'Short', buy_to_cover: 'Short' };
const PLAIN = { sell: 'Long', buy: 'Short' };
/** A linked order's exits: they close what their trigger opened. */
const EXIT_ROLES = new Set(['take_profit', 'stop_loss']);

/** An instrument's key in an account: its contract symbol (a position's or a leg's). */
const instrumentKey = (x) => {
  const it = instrumentOf(x);
  return it ? it.symbol : normalizeSymbol(x.streamer_symbol) || normalizeSymbol(x.symbol) || String(x.symbol ?? '');
};

/** What each account holds, by instrument and side: "<account>|<contract symbol>|<Long|Short>" → quantity. */
function holdings(accounts) {
  const held = new Map();
  for (const acct of accounts.values()) {
    for (const p of (acct.positions && acct.positions.values ? acct.positions.values() : acct.positions || [])) {
      const side = p.direction === 'Short' ? 'Short' : 'Long';
      const key = `${acct.number}|${instrumentKey(p)}|${side}`;
      held.set(key, (held.get(key) || 0) + Math.abs(num(p.quantity) || 0));
    }
  }
  return held;
}

/**
 * The working exits larger than what their account holds (docs/streaming-contract.md "The
 * dashboard's panel"): a working closing order (`Sell to Close`, `Buy to Close`, a `sell`
 * or `buy` that closes a long or a short, a linked order's take-profit or stop-loss) whose
 * remaining quantity, with every other working exit of the same instrument in the same
 * account, each linked group counted once (an OCO's two exits close the same shares), is
 * more than the account holds of it; holding none counts. A member that waits for its
 * trigger (`Contingent`) closes what is not opened yet: it is not counted. `orders`: the
 * state's (or a list); `accounts`: number → {number, positions}. Map order key → the
 * sentence ("Exits for 10 MSFT, but 2 are held.").
 */
export function oversizedExits(orders, accounts) {
  const held = holdings(accounts);
  const exits = new Map(); // "<account>|<instrument>|<side>" -> {total, groups: Map(group -> qty), keys: [], name}
  for (const o of orders) {
    if (statusGroup(o.status) !== 'working' || o.status === 'Contingent') continue;
    const account = accountOf(o);
    const group = o.group ? `${linkOf(o)}|${o.group.id}` : null;
    for (const leg of o.legs || []) {
      const action = String(leg.action || '').toLowerCase();
      const rest = num(leg.remaining_quantity) ?? num(leg.quantity);
      if (rest === null || !(rest > 0)) continue;
      const instrument = instrumentKey(leg);
      let side = CLOSES[action] || null;
      if (!side && PLAIN[action]) {
        const closes = PLAIN[action];
        if ((o.group && EXIT_ROLES.has(o.group.role)) || held.get(`${account}|${instrument}|${closes}`)) side = closes;
      }
      if (!side) continue;
      const at = `${account}|${instrument}|${side}`;
      if (!exits.has(at)) exits.set(at, { loose: 0, groups: new Map(), keys: [], name: displayName(leg) });
      const e = exits.get(at);
      if (group === null) e.loose += rest;
      else e.groups.set(group, Math.max(e.groups.get(group) || 0, rest));
      e.keys.push(keyOf(o));
    }
  }
  const out = new Map();
  for (const [at, e] of exits) {
    const total = e.loose + Array.from(e.groups.values()).reduce((a, b) => a + b, 0);
    const have = held.get(at) || 0;
    if (!(total > have + 1e-9)) continue;
    const sentence = oversizeText(total, e.name, have);
    for (const key of e.keys) out.set(key, sentence);
  }
  return out;
}

/** "Exits for 10 MSFT, but 2 are held." (1 is held; none are held). */
export function oversizeText(total, name, have) {
  const held = have > 0 ? `${fmt.qty(have)} ${have === 1 ? 'is' : 'are'} held` : 'none are held';
  return `Exits for ${fmt.qty(total)} ${name}, but ${held}.`;
}
