/*
 * Which rows a trader can see: values in rows scrolled out of view, or in a panel that is
 * hidden (a collapsed card, the phone's other tabs), are redrawn at most once a second
 * (Lightstreamer's per-subscription "max frequency"), and at once when the row comes into
 * view, so nothing on screen is ever behind. One IntersectionObserver per page; without
 * one (an old browser, node) every row counts as in view.
 *
 * `createVisibility(win, onShown)`: `watch(el)` starts following a row (in view until the
 * observer first says otherwise), `inView(el)`, `forget(el)`; `onShown(el)` is called when
 * a watched row comes into view after having been out of it.
 */

/** How often a row out of view is redrawn at most (ms): the renderers' freshness tick. */
export const OFF_SCREEN_EVERY_MS = 1000;

/** Rows this close to the viewport count as in view (they are about to be seen). */
const MARGIN = '120px 0px';

export function createVisibility(win, onShown) {
  const inViewOf = new WeakMap(); // row -> whether it intersects the viewport (+ MARGIN)
  const Observer = win && win.IntersectionObserver;
  const observer = typeof Observer === 'function'
    ? new Observer((entries) => {
      for (const e of entries) {
        const was = inViewOf.get(e.target);
        inViewOf.set(e.target, e.isIntersecting);
        if (e.isIntersecting && was === false && onShown) onShown(e.target);
      }
    }, { rootMargin: MARGIN })
    : null;
  return {
    watch(el) {
      if (!observer || !el || inViewOf.has(el)) return;
      inViewOf.set(el, true);
      observer.observe(el);
    },
    inView: (el) => !observer || !el || inViewOf.get(el) !== false,
    forget(el) {
      if (!observer || !el || !inViewOf.has(el)) return;
      observer.unobserve(el);
      inViewOf.delete(el);
    },
  };
}

/**
 * Redraws of rows out of view, held until the next tick or until the row is seen:
 * `hold(key)` (the row was not drawn), `take()` every key held (and forget them),
 * `release(key)` whether it was held (and forget it).
 */
export function createHeldRedraws() {
  const held = new Set();
  return {
    hold: (key) => { held.add(key); },
    take() {
      const keys = Array.from(held);
      held.clear();
      return keys;
    },
    release: (key) => held.delete(key),
    get size() { return held.size; },
  };
}
