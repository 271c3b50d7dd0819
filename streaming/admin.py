"""Streaming's pages in Django's admin: each package registers its own, imported here.

`accounts` registers what needs no more than its own tables (the API tokens); a page that
reaches into streaming registers from the package it belongs to: a broker link's page, whose
Verify logs in at the broker (`links/admin.py`), and the users' trading switches with the
staff's kill switch and the audit trail (`trading/admin.py`).
"""

from django.contrib import admin

from streaming.links import admin as links_admin
from streaming.lockout.forms import AdminLoginForm
from streaming.trading import admin as trading_admin

#: Importing a package's admin module registers its pages (Django imports this one).
REGISTERED = (links_admin, trading_admin)

# The admin's login says the login throttle's lock in words (streaming/lockout/forms.py).
admin.site.login_form = AdminLoginForm
