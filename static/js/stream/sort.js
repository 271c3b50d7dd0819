/*
 * Sortable columns: the order a table's rows are shown in, as pure functions. A header
 * click cycles a column ascending → descending → the table's own order (the watchlist's
 * is the trader's list, the positions' the broker's); the sort is remembered per user
 * (display preferences, `sorts`). Rows without a value sort last either way, and equal
 * values keep their own order (a stable sort), so a live column does not shuffle ties.
 */

/** The tables that sort, and the columns each sorts by (as accounts/display_preferences.py). */
export const SORTABLE = {
  positions: ['symbol', 'quantity', 'mark', 'day_pnl', 'open_pnl', 'average_open_price', 'delta', 'position_delta', 'gamma', 'theta', 'vega', 'iv'],
  watchlist: ['symbol', 'bid', 'ask', 'last', 'change', 'volume'],
  chain: ['strike', ...['call', 'put'].flatMap((side) => ['bid', 'ask', 'mark', 'volume', 'open_interest', 'iv', 'delta', 'gamma', 'theta', 'vega'].map((f) => `${side}_${f}`))],
};

/** The sort after a click on `col`: asc, then desc, then none (null). */
export function nextSort(current, col) {
  if (!current || current.col !== col) return { col, dir: 'asc' };
  return current.dir === 'asc' ? { col, dir: 'desc' } : null;
}

/** A sort that names a column of the table, else null (a stored sort of an old column). */
export function validSort(table, sort) {
  if (!sort || typeof sort !== 'object' || !(SORTABLE[table] || []).includes(sort.col)) return null;
  return sort.dir === 'desc' ? { col: sort.col, dir: 'desc' } : { col: sort.col, dir: 'asc' };
}

function compare(a, b) {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en-US', { numeric: true });
}

/**
 * `items` in the order of `sort` ({col, dir} or null: their own order); `valueOf(item,
 * col)` gives a number, a string, or null (no value: last).
 */
export function sortItems(items, sort, valueOf) {
  const list = Array.from(items);
  if (!sort) return list;
  const sign = sort.dir === 'desc' ? -1 : 1;
  const keyed = list.map((item, i) => ({ item, i, v: valueOf(item, sort.col) }));
  keyed.sort((x, y) => {
    const xn = x.v === null || x.v === undefined || (typeof x.v === 'number' && !Number.isFinite(x.v));
    const yn = y.v === null || y.v === undefined || (typeof y.v === 'number' && !Number.isFinite(y.v));
    if (xn || yn) return xn === yn ? x.i - y.i : xn ? 1 : -1;
    return sign * compare(x.v, y.v) || x.i - y.i;
  });
  return keyed.map((k) => k.item);
}

/** `aria-sort` of a column header under `sort`. */
export function ariaSort(sort, col) {
  if (!sort || sort.col !== col) return 'none';
  return sort.dir === 'asc' ? 'ascending' : 'descending';
}
