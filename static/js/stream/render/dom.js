/*
 * Small DOM helpers for the renderers: build elements (never innerHTML), write a node only
 * when its text or attribute changes, flash a value that moved, reorder children in place,
 * and the toasts of #messages.
 *
 * A flash is a class (`flash-up` / `flash-down`: a colour and a tint, nothing that moves
 * or resizes) put on the cell and taken off by one shared timer: no animation runs, so a
 * flash costs one style change and a repaint of that cell, never a layout or a frame-by-
 * frame repaint. Flashes are off with the operating system's reduced-motion setting and
 * with the trader's own (`setFlashes`, the display preferences).
 */

const reducedMotion = !!(window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches);
let flashesOn = !reducedMotion;

/** Turn value flashes on or off (the trader's setting; reduced motion keeps them off). */
export function setFlashes(on) {
  flashesOn = !!on && !reducedMotion;
  if (!flashesOn) endFlashes(Infinity);
}

/** Whether values flash when they move. */
export const flashesEnabled = () => flashesOn;

const MAX_MESSAGES = 5;
const MESSAGE_TTL_MS = 10000;
const FLASH_MS = 700;

/** `el('td', {class: 'num', 'data-field': 'bid'}, '—')`: attributes with null/false are left out. */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'hidden') node.hidden = true;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

/** Set an attribute (null removes it), touching the DOM only on a change. */
export function setAttr(node, name, value) {
  if (!node) return;
  if (value === null || value === undefined) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== value) {
    node.setAttribute(name, value);
  }
}

/**
 * Write a value cell: its text (only when it changes), `data-value` (the raw number, empty
 * for null), `pos`/`neg` classes (`signed`), and a flash up or down when a number moved
 * (`flash`).
 */
export function setCell(node, text, value, opts) {
  if (!node) return;
  if (node.textContent !== text) {
    const prev = node._sdValue;
    node.textContent = text;
    if (opts && opts.flash && typeof prev === 'number' && typeof value === 'number' && value !== prev) {
      flash(node, value > prev ? 'up' : 'down');
    }
  }
  const raw = value === null || value === undefined ? '' : String(value);
  if (node._sdRaw !== raw) {
    node._sdRaw = raw;
    node.setAttribute('data-value', raw);
  }
  node._sdValue = value;
  if (opts && opts.signed) {
    node.classList.toggle('pos', typeof value === 'number' && value > 0);
    node.classList.toggle('neg', typeof value === 'number' && value < 0);
  }
}

const flashing = new Map(); // cell -> when its flash ends (performance.now() ms)
let flashTimer = null;

function flash(node, dir) {
  if (!flashesOn) return;
  const on = dir === 'up' ? 'flash-up' : 'flash-down';
  const off = dir === 'up' ? 'flash-down' : 'flash-up';
  if (node.classList.contains(off)) node.classList.remove(off);
  if (!node.classList.contains(on)) node.classList.add(on);
  flashing.set(node, performance.now() + FLASH_MS);
  if (flashTimer === null) flashTimer = setTimeout(sweepFlashes, FLASH_MS);
}

/** Take the classes off the flashes that are over (all of them: `until` Infinity). */
function endFlashes(until) {
  for (const [node, end] of flashing) {
    if (end > until) continue;
    node.classList.remove('flash-up', 'flash-down');
    flashing.delete(node);
  }
}

function sweepFlashes() {
  flashTimer = null;
  endFlashes(performance.now());
  if (flashing.size) flashTimer = setTimeout(sweepFlashes, FLASH_MS / 3);
}

/** A ring that fades out (an order that changed): an inset outline, not a background, so
 *  the row's text keeps its contrast while it shows (a tinted background under the muted
 *  text read 4.06:1, below WCAG AA). Rare, so an animation is fine. */
export function highlight(node, color, ms) {
  if (!flashesOn || typeof node.animate !== 'function') return;
  node.animate([{ boxShadow: `inset 0 0 0 2px ${color}` }, { boxShadow: 'inset 0 0 0 2px rgba(0, 0, 0, 0)' }], { duration: ms, easing: 'ease-out' });
}

/** The `[data-field]` cells of a row (or block), looked up once. */
export function cellsOf(row) {
  if (!row._sdCells) {
    const cells = {};
    for (const c of row.querySelectorAll('[data-field]')) cells[c.getAttribute('data-field')] = c;
    row._sdCells = cells;
  }
  return row._sdCells;
}

/** Whether two Maps have the same keys (if not, their elements need reconciling). */
export const sameKeys = (a, b) => a.size === b.size && Array.from(a.keys()).every((k) => b.has(k));

/** Put `nodes` into `container` in this order, moving only what is out of place; drop the rest. */
export function reconcileChildren(container, nodes) {
  const keep = new Set(nodes);
  for (const child of Array.from(container.children)) if (!keep.has(child)) child.remove();
  let expected = container.firstElementChild;
  for (const node of nodes) {
    if (node !== expected) container.insertBefore(node, expected);
    else expected = expected.nextElementSibling;
  }
}

/** Mark a value cell stale (class `is-stale`) or delayed, with a title saying why. */
export function markCell(node, stale, delayed, why) {
  if (!node) return;
  node.classList.toggle('is-stale', !!stale);
  node.classList.toggle('is-delayed', !!delayed);
  setAttr(node, 'title', why || null);
}

/** A DELAYED badge inside `container` (made on first need), shown while `on`. */
export function delayedBadge(container, on, small) {
  if (!container) return;
  let badge = container.querySelector(':scope > [data-badge="delayed"]');
  if (on && !badge) {
    badge = el('span', { class: `badge badge-delayed${small ? ' badge-small' : ''}`, 'data-badge': 'delayed' }, 'DELAYED');
    container.append(badge);
  }
  if (badge) badge.hidden = !on;
}

/** A toast in `container` (#messages): dismissable, gone after 10 s, at most 5. */
export function showMessage(container, text, kind) {
  if (!container) return;
  const dismiss = el('button', { type: 'button', class: 'msg-close', 'aria-label': 'Dismiss' }, '×');
  const item = el('div', { class: `msg msg-${kind || 'error'}` }, el('span', { class: 'msg-text' }, text), dismiss);
  dismiss.addEventListener('click', () => item.remove());
  container.append(item);
  while (container.children.length > MAX_MESSAGES) container.firstElementChild.remove();
  setTimeout(() => item.remove(), MESSAGE_TTL_MS);
}
