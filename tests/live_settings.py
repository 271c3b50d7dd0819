"""Settings of the live processes the tests start (daphne, stream workers, their shells):
config.settings as deployed, plus what makes a test fast without changing behaviour — the
same as the in-process tests' (tests/conftest.py `_test_settings`). Benchmarks that measure
a login run config.settings itself."""

from config.settings import *  # noqa: F403
from config.settings import PASSWORD_HASHERS

# A password check with Argon2id costs ~0.25 s of CPU by design; every login of every test
# paid it. Argon2 stays listed, so a hash made by config.settings still verifies.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
