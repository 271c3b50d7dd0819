/*
 * Sortable column headers (the DOM side of sort.js): each `th[data-col]` of a sortable
 * table gets a button (keyboard and screen readers reach it; `aria-sort` says the order),
 * and a click asks for the next sort of that column. The renderers order the rows.
 */
import { el, setAttr } from './dom.js';
import { SORTABLE, ariaSort, nextSort } from '../sort.js';

/**
 * Make `table`'s headers sortable as table `name` (idempotent: headers made later, e.g. a
 * new account card's, are picked up by calling it again). `get(name)` is the sort now;
 * `change(name, sort)` asks for another (null: the table's own order).
 */
export function sortableHeaders(table, name, { get, change }) {
  if (!table) return;
  for (const th of table.querySelectorAll('thead th[data-col]')) {
    const col = th.getAttribute('data-col');
    if (th._sdSortable || !SORTABLE[name].includes(col)) continue;
    th._sdSortable = true;
    const label = (th.textContent || col).trim();
    const button = el('button', { type: 'button', class: 'sort-btn', 'data-sort': col, title: `Sort by ${label}` });
    button.append(...Array.from(th.childNodes));
    th.append(button);
    button.addEventListener('click', () => change(name, nextSort(get(name), col)));
  }
  markSorted(table, get(name));
}

/** `aria-sort` on every sortable header of `table` for `sort`. */
export function markSorted(table, sort) {
  if (!table) return;
  for (const th of table.querySelectorAll('thead th[data-col]')) {
    if (th._sdSortable) setAttr(th, 'aria-sort', ariaSort(sort, th.getAttribute('data-col')));
  }
}
