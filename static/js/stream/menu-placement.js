/*
 * Where a row's ⋯ menu opens (static/js/stream/alert-menu.js): a pure function, so the
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

/** Whether an open menu still sits by its button after a scroll: the button where it was
 * on the screen (within a pixel). The browser's scroll anchoring scrolls the page when rows
 * come in above the button and leaves the button in place: the menu stays open. A scroll
 * the trader made moves the button: the menu, placed for where it was, closes.
 * `opened`: the button's {top, left} when the menu opened; `now`: after the scroll. */
export function stillAnchored(opened, now) {
  return Math.abs(now.top - opened.top) <= 1 && Math.abs(now.left - opened.left) <= 1;
}
