"""The login forms that say the throttle in words: the login page's and the admin's.

Django's form authenticates with the request, so axes sees every try. When axes refused
or just locked, the form's error is the lock's words (and the request remembers the lock:
the middleware answers 429 with `Retry-After`); after a counted failure the login page
also says how many tries are left.
"""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from streaming.lockout.lock import (
    Lockout,
    counted_failures,
    locked_out,
    lockout_of,
    remember,
    tries_words,
)


class LoginForm(AuthenticationForm):
    """Django's login form; `lockout` and `tries_left_words` for the template."""

    lockout: Lockout | None = None
    tries_left_words: str = ""

    def get_invalid_login_error(self) -> ValidationError:
        request = self.request
        if request is not None and locked_out(request):
            self.lockout = lockout_of(request, self.cleaned_data.get("username"))
            remember(request, self.lockout)
            return ValidationError(self.lockout.words, code="locked")
        failures = counted_failures(request) if request is not None else None
        if failures is not None and failures >= 2:
            self.tries_left_words = tries_words(failures)
        return super().get_invalid_login_error()


class AdminLoginForm(LoginForm, AdminAuthenticationForm):
    """The admin's login form (staff only, as Django's), throttled alike."""
