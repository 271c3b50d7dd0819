"""The login throttle: django-axes, per account and per client address, wherever a
password is checked — the login page, the admin's login, the password that turns trading
on (docs/operations.md, "The login throttle").

Every check goes through `django.contrib.auth.authenticate(request, …)`: axes' backend
refuses while locked and its signal handlers count each failure in its tables. Here: the
client's address (`address.py`), the lock as a trader reads it (`lock.py`), the forms that
say it (`forms.py`), the password check of the trading switch (`password.py`), the answer's
status and the growing wait (`middleware.py`), and the audit lines and the lockout counter
(`receivers.py`).
"""
