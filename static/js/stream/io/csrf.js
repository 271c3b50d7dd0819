/*
 * The page's CSRF token (Django's `csrftoken` cookie, else a form's hidden input), for the
 * `X-CSRFToken` header of every JSON write: alerts, preferences, trading, the P&L page.
 */

/** The CSRF token: the cookie, else a form's hidden input. */
export function csrfToken(doc) {
  for (const part of String(doc.cookie || '').split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === 'csrftoken') return decodeURIComponent(rest.join('='));
  }
  const input = doc.querySelector('input[name="csrfmiddlewaretoken"]');
  return input ? input.value : '';
}
