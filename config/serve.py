"""`python -m config.serve <daphne arguments>`: daphne on the event loop of
streaming/runtime/loop.py (uvloop unless STREAM_UVLOOP is off).

daphne makes its event loop when its server module is imported, before it loads the
application, so the loop is chosen here, first; everything else is daphne's own command
line (`python -m config.serve -b 127.0.0.1 -p 8000 config.asgi:application`).
"""

import sys

from streaming.runtime import loop

loop.install()

from daphne.cli import CommandLineInterface  # noqa: E402  (after the loop is chosen)

if __name__ == "__main__":
    from config.startup import settings_or_exit

    settings_or_exit()  # a wrong setting is one line on stderr, not daphne's traceback
    sys.argv[0] = "daphne"
    sys.exit(CommandLineInterface.entrypoint())
