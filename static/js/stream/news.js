/*
 * News: the pure parts (no DOM). Items are the contract's news items
 * (docs/streaming-contract.md "News"): `id` stable across updates, `cursor` growing per
 * stored revision, times as epoch ms. A list holds one item per `id` (an update replaces
 * it in place, never a second row), newest publication first. Times are shown in the
 * zone the page shows (format.js: the trader's, else the browser's; labelled) with a
 * relative age.
 */
import { fmt } from './format.js';

/** Most items a panel keeps. */
export const MAX_ITEMS = 100;

const isItem = (x) => x && typeof x === 'object' && typeof x.id === 'string' && Number.isFinite(x.created_at);

/**
 * The list with `items` merged: a known id is replaced only by a newer revision (a larger
 * cursor, else a later updated_at); the result is sorted newest first and capped.
 */
export function mergeNews(list, items, max = MAX_ITEMS) {
  const byId = new Map(list.map((x) => [x.id, x]));
  for (const item of items || []) {
    if (!isItem(item)) continue;
    const old = byId.get(item.id);
    if (old && !newer(item, old)) continue;
    byId.set(item.id, item);
  }
  return Array.from(byId.values())
    .sort((a, b) => b.created_at - a.created_at || (b.cursor || 0) - (a.cursor || 0))
    .slice(0, max);
}

function newer(item, old) {
  if (Number.isFinite(item.cursor) && Number.isFinite(old.cursor)) return item.cursor > old.cursor;
  return (item.updated_at || 0) > (old.updated_at || 0);
}

/** The largest cursor among items and `cursor` (where to resume reading the store). */
export function newestCursor(cursor, items) {
  let best = Number.isFinite(cursor) ? cursor : 0;
  for (const x of items || []) if (Number.isFinite(x.cursor) && x.cursor > best) best = x.cursor;
  return best;
}

/** The items about any of `symbols` (a panel shows its own symbols only). */
export function aboutSymbols(items, symbols) {
  const wanted = new Set(symbols);
  return (items || []).filter((x) => Array.isArray(x.symbols) && x.symbols.some((s) => wanted.has(s)));
}

/**
 * Wall time of epoch `ms` in the zone the page shows (format.js, labelled): "14:30 EST"
 * on the day of `nowMs`, else "Mar 2, 14:30 EST".
 */
export function localTime(ms, nowMs) {
  return fmt.whenHm(ms, nowMs);
}

/** "just now", "3 min ago", "2 h ago", "5 days ago" (a future time reads "just now"). */
export function relativeAge(ms, nowMs) {
  const s = Math.floor((nowMs - ms) / 1000);
  if (s < 60) return 'just now';
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ago`;
  const days = Math.floor(h / 24);
  return days === 1 ? '1 day ago' : `${days} days ago`;
}

/** The full date and time, for a tooltip: "Mar 2, 2026, 14:30:00 EST". */
export function localStamp(ms) {
  return fmt.full(ms);
}

/** `/api/news?symbols=…&after=…&limit=…` */
export function newsUrl(base, symbols, after, limit) {
  const q = new URLSearchParams();
  q.set('symbols', symbols.join(','));
  if (Number.isFinite(after)) q.set('after', String(after));
  if (Number.isFinite(limit)) q.set('limit', String(limit));
  return `${base}?${q.toString()}`;
}

/** The sentence for a feed state, or '' when live (the panel's header). */
export function feedText(feed) {
  if (!feed || typeof feed !== 'object') return '';
  if (feed.state === 'live' || feed.state === 'idle') return '';
  if (feed.state === 'error') return `news unavailable: ${feed.reason || 'the provider refused the key'}`;
  if (feed.state === 'reconnecting') return 'news reconnecting…';
  if (feed.state === 'connecting') return 'news connecting…';
  return '';
}

const EQUITY = /^[A-Z][A-Z0-9.]{0,9}(\/[A-Z])?$/;

/**
 * The dashboard panel's symbols (as the server's `panel_symbols`): the watchlist's, then
 * the positions' underlyings, stocks and ETFs only, each once. `accounts`: state.accounts.
 */
export function panelSymbols(watchlist, accounts) {
  const found = [...(watchlist || [])];
  for (const a of accounts ? accounts.values() : []) {
    for (const p of a.positions ? a.positions.values() : []) found.push(p.underlying || p.symbol || '');
  }
  return Array.from(new Set(found.filter((s) => typeof s === 'string' && EQUITY.test(s))));
}
