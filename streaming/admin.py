"""Streaming's pages in Django's admin: each package registers its own, imported here.

`accounts` registers what needs no more than its own tables; a page that reaches into
streaming registers from the package it belongs to: the users' trading switches with the
staff's kill switch and the audit trail (`trading/admin.py`).
"""

# Importing a package's admin module registers its pages (Django imports this one).
import streaming.trading.admin  # noqa: F401
