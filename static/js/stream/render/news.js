/*
 * The news panel (the dashboard's, and the /news/<SYMBOL> page's): starts from the items
 * the page embeds (#news-data), takes `news` frames live, and after every (re)snapshot
 * reads `/api/news?symbols=…&after=<cursor>` so nothing stored while the stream was away
 * is missed. One row per item id (an update replaces its row in place). Times are local
 * (news.js), re-aged every tick. Also links the watchlist's rows to their news page.
 */
import { el, reconcileChildren, setAttr, setText } from './dom.js';
import {
  aboutSymbols, feedText, localStamp, localTime, mergeNews, newestCursor, newsUrl, relativeAge,
} from '../news.js';

const MAX_PAGES = 20;

export function createNewsPanel(doc, root, env) {
  const panel = root.querySelector('[data-news-panel]');
  const data = env.data || {};
  if (!panel || !data.available) return { apply() {}, resync() {}, tick() {}, items: () => [], linkRows() {} };
  const list = panel.querySelector('[data-news-list]');
  const empty = panel.querySelector('[data-news-empty]');
  const feedNode = panel.querySelector('[data-news-feed]');
  const url = panel.getAttribute('data-news-url') || '/api/news';
  let items = mergeNews([], data.items || []);
  let cursor = newestCursor(data.cursor, data.items);
  let reading = null;
  const rows = new Map(); // id -> {li, item}

  const symbols = () => env.symbols();

  function row(item) {
    const have = rows.get(item.id);
    if (have && have.item === item) return have.li;
    const time = el('time', { 'data-news-time': true, 'data-ms': item.created_at, datetime: new Date(item.created_at).toISOString() });
    const age = el('span', { 'data-news-age': true });
    const meta = el('div', { class: 'news-meta' }, time, ' · ', age, ' · ', item.source || '');
    for (const s of item.symbols || []) meta.append(' ', el('a', { class: 'news-sym', href: `/news/${encodeURIComponent(s)}` }, s));
    const headline = item.url
      ? el('a', { class: 'news-headline', href: item.url, rel: 'noopener noreferrer', target: '_blank' }, item.headline)
      : el('span', { class: 'news-headline' }, item.headline);
    const li = el('li', { class: 'news-item', 'data-news-id': item.id, 'data-cursor': item.cursor }, headline, meta);
    if (have) have.li.replaceWith(li);
    rows.set(item.id, { li, item });
    return li;
  }

  function draw(now) {
    const shown = aboutSymbols(items, symbols());
    reconcileChildren(list, shown.map(row));
    for (const id of Array.from(rows.keys())) if (!shown.some((x) => x.id === id)) rows.delete(id);
    setAttr(empty, 'hidden', shown.length ? '' : null);
    ages(now);
  }

  function ages(now) {
    for (const { li, item } of rows.values()) {
      const t = li.querySelector('[data-news-time]');
      setText(t, localTime(item.created_at, now));
      setAttr(t, 'title', localStamp(item.created_at));
      setText(li.querySelector('[data-news-age]'), relativeAge(item.created_at, now));
    }
  }

  function take(newItems) {
    items = mergeNews(items, newItems);
    cursor = newestCursor(cursor, newItems);
  }

  /** Read the store after our cursor, page by page (after a reconnect or a resync). */
  async function readAfter() {
    const wanted = symbols();
    if (!wanted.length) return;
    for (let i = 0; i < MAX_PAGES; i += 1) {
      const res = await env.fetch(newsUrl(url, wanted, cursor, 200), { credentials: 'same-origin' });
      if (!res.ok) return;
      const body = await res.json();
      take(body.items || []);
      if (Number.isFinite(body.cursor) && body.cursor > cursor) cursor = body.cursor;
      if (!body.more) break;
    }
    draw(env.now());
  }

  draw(env.now());
  return {
    /** A `news` frame from the stream. */
    apply(frame) {
      if (frame.feed) setText(feedNode, feedText(frame.feed));
      if (Array.isArray(frame.items) && frame.items.length) {
        take(frame.items);
        draw(env.now());
      }
    },
    /** The stream (re)started from a snapshot: fill what may have been missed. */
    resync() {
      if (reading) return;
      reading = readAfter().catch(() => {}).finally(() => { reading = null; });
    },
    tick(now) { ages(now); },
    /** The panel's items (for tests). */
    items: () => aboutSymbols(items, symbols()),
    cursor: () => cursor,
    /** Watchlist rows get a link to their symbol's news page. */
    linkRows() {
      for (const tr of doc.querySelectorAll('#watchlist-rows tr[data-quote]')) {
        const sym = tr.getAttribute('data-quote');
        const th = tr.querySelector('th');
        if (!th || !sym || sym.startsWith('.') || sym.startsWith('/')) continue;
        const have = th.querySelector('a.news-link');
        if (have && have.getAttribute('data-news-link') === sym) continue;
        if (have) have.remove();
        th.append(el('a', { class: 'news-link', href: `/news/${encodeURIComponent(sym)}`, 'data-news-link': sym, title: `${sym} news` }, 'news'));
      }
    },
  };
}
