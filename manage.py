#!/usr/bin/env python
"""Django's command-line utility for streamdesk."""

import sys


def main() -> None:
    from config.startup import settings_or_exit

    settings_or_exit()  # a wrong setting is one line on stderr, not a traceback
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
