/*
 * Where a row's ⋯ menu opens (static/js/stream/render/row-menu.js): a pure function, so the
 * rule is unit-tested without a page (tests/js/row-menu.test.mjs).
 */

/** Where a row's menu goes, in viewport pixels: under its button, or above it when the
 * viewport has no room below (a row at the bottom of the screen), never off its left or
 * right edge. Off-screen it could not be seen, and reaching it would scroll, which closes
 * it. `at`: the button's rect; `size`: the menu's; `viewport`: {width, height}. */
export function menuPlacement(at, size, viewport) {
  const left = Math.max(4, Math.min(at.left, viewport.width - size.width - 4));
  const below = at.bottom + 2;
  const above = at.top - 2 - size.height;
  const fitsBelow = below + size.height <= viewport.height;
  return { left, top: fitsBelow || above < 0 ? below : above };
}

/** The attributes that name a row for good (a position by account and symbol, a
 *  watchlist row by symbol): the renderer may replace a row's element, never its name. */
export const ROW_KEYS = ['data-position', 'data-quote'];

/** How to find a row's ⋯ button again once the renderer has replaced the row it was in
 *  (a live update under an open menu): a selector for the button in the row of the same
 *  name, or null for a button in no named row. `row`: {name, value} of the row it was in. */
export function sameRowButton(row) {
  if (!row || !ROW_KEYS.includes(row.name)) return null;
  const value = String(row.value).replace(/["\\]/g, '\\$&');
  return `tr[${row.name}="${value}"] [data-row-menu]`;
}
