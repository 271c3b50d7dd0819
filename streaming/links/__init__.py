"""A broker link checked at its broker: verifying its secrets, and the link's admin page that
does it (the link itself, its secrets and its writes are `accounts`')."""
