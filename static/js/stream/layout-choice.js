/*
 * The page's layout choices (pure: no DOM, no clock): which panel the phone dashboard
 * shows (positions, watchlist, orders), whether the positions and the option chain show
 * prices or greeks, and which side of the chain a phone shows. A choice is kept in a
 * cookie so the server renders the next page with it (no layout jump when the script
 * starts): streaming/templatetags/layout.py reads the same cookies with the same choices.
 */

/** Each choice: its values (the first is the default) and the cookie that keeps it. */
export const CHOICES = Object.freeze({
  view: Object.freeze({ values: Object.freeze(['positions', 'watchlist', 'orders']), cookie: 'sd_view' }),
  'pos-cols': Object.freeze({ values: Object.freeze(['prices', 'greeks']), cookie: 'sd_pos_cols' }),
  'chain-side': Object.freeze({ values: Object.freeze(['call', 'put']), cookie: 'sd_chain_side' }),
  'chain-cols': Object.freeze({ values: Object.freeze(['prices', 'greeks']), cookie: 'sd_chain_cols' }),
});

/** A cookie lives a year; the layout is the same on every page of the site. */
export const COOKIE_MAX_AGE_S = 365 * 24 * 3600;

/** The choice's value if `value` is one of its values, else its default; null for an unknown choice. */
export function choose(key, value) {
  const choice = CHOICES[key];
  if (!choice) return null;
  return choice.values.includes(value) ? value : choice.values[0];
}

/** What a two-valued choice becomes when its toggle is pressed (`prices` <-> `greeks`). */
export function toggled(key, value) {
  const choice = CHOICES[key];
  if (!choice) return null;
  const i = choice.values.indexOf(choose(key, value));
  return choice.values[(i + 1) % choice.values.length];
}

/** The choice kept in `cookieText` (document.cookie), else the default. */
export function readChoice(cookieText, key) {
  const choice = CHOICES[key];
  if (!choice) return null;
  for (const part of String(cookieText || '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === choice.cookie) return choose(key, part.slice(eq + 1).trim());
  }
  return choice.values[0];
}

/** The `document.cookie` assignment that keeps a choice (null for an unknown choice). */
export function choiceCookie(key, value, secure) {
  const choice = CHOICES[key];
  if (!choice) return null;
  return `${choice.cookie}=${choose(key, value)}; Path=/; Max-Age=${COOKIE_MAX_AGE_S}; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/**
 * The state of a control's buttons for a value: a segmented control (each button names its
 * value) is pressed where the value matches; a toggle (one button, `on` its pressed value)
 * is pressed while the value is `on`. Returns [{index, pressed}].
 */
export function pressedStates(buttonValues, value, on) {
  if (on !== undefined && on !== null) return buttonValues.map((_, index) => ({ index, pressed: value === on }));
  return buttonValues.map((v, index) => ({ index, pressed: v === value }));
}
