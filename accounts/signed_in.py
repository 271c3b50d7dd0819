"""The signed-in user of a view behind a login check, typed as the `User` it is.

`request.user` and `request.auser()` are typed `User | AnonymousUser`; a view that
`login_required` (or the admin) let in has a real user, and this says so once.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied


def signed_in(user: AbstractBaseUser | AnonymousUser) -> User:
    """`user` as a `User`; an anonymous one (no login check ran) is refused, never served."""
    if not isinstance(user, User):
        raise PermissionDenied
    return user
