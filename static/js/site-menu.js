/*
 * The header's Menu on a phone (≤ 600 px, static/css/app.css): the pages and Log out open
 * below the one-line header and close on a second press, Escape, or a press elsewhere; the
 * kill switch stays in the header, one tap away. On wider screens the button is not shown
 * and the links stay in the header.
 */
const toggle = document.querySelector('[data-menu-toggle]');
const menu = document.querySelector('[data-site-menu]');

function setOpen(open) {
  toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
  if (open) menu.setAttribute('data-open', '');
  else menu.removeAttribute('data-open');
}

if (toggle && menu) {
  toggle.addEventListener('click', () => setOpen(!menu.hasAttribute('data-open')));
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && menu.hasAttribute('data-open')) { setOpen(false); toggle.focus(); }
  });
  document.addEventListener('click', (ev) => {
    if (menu.hasAttribute('data-open') && !menu.contains(ev.target) && !toggle.contains(ev.target)) setOpen(false);
  });
}
