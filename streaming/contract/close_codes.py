"""How the server ends a socket, and what the client does next (docs/streaming-contract.md
"Close codes").

Every code is a row of the document's table; tests/streaming/test_contract.py compares the
two. The browser's copy is static/js/stream/contract.js.
"""

from __future__ import annotations

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_SERVER_ERROR = 1011
#: Server restarting / channel layer reconnected: reconnect at once with the position.
CLOSE_SERVICE_RESTART = 1012
#: The stream cannot be served right now: reconnect with backoff. RFC 6455 has 1013 for it,
#: but daphne (autobahn) sends only 1000 and 3000-4999; 4503 as HTTP's 503.
CLOSE_TRY_AGAIN_LATER = 4503
#: Not logged in, or the session ended: go to the login page.
CLOSE_UNAUTHENTICATED = 4401
#: Too slow to take account events: reconnect with the position.
CLOSE_TOO_SLOW = 4408
#: A gap the server cannot fill: reconnect without a position (a new snapshot).
CLOSE_RESYNC = 4409
#: Too many connection attempts with one API token: retry after the `error` frame's delay.
CLOSE_TOKEN_RATE_LIMITED = 4429
CLOSE_CODES = frozenset(
    {
        CLOSE_NORMAL,
        CLOSE_GOING_AWAY,
        CLOSE_SERVER_ERROR,
        CLOSE_SERVICE_RESTART,
        CLOSE_TRY_AGAIN_LATER,
        CLOSE_UNAUTHENTICATED,
        CLOSE_TOO_SLOW,
        CLOSE_RESYNC,
        CLOSE_TOKEN_RATE_LIMITED,
    }
)
