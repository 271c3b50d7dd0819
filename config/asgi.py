"""ASGI entry point: Django for HTTP (static files: WhiteNoise, in MIDDLEWARE), Channels for
websockets.

The Django app is built first so that settings and apps are ready before the
websocket routing (which imports consumers and models) is imported. Websockets are
origin-checked (cross-site hijacking) and session-authenticated, or authenticated by an
API token (`Authorization: Bearer`, streaming/tabs/bearer.py: no Origin needed); every
connection's scope carries a probe of its transport (streaming/tabs/socket.py: slow
clients), and daphne builds WebSockets that discard oversized messages instead of
failing the connection. The server's full garbage collections skip what survived the
last one (streaming/runtime/heap.py).
"""

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from streaming.node import NodeScope, current  # noqa: E402
from streaming.routing import websocket_urlpatterns  # noqa: E402
from streaming.tabs.bearer import BearerWebsocketMiddleware  # noqa: E402
from streaming.tabs.origin import OriginValidator  # noqa: E402
from streaming.tabs.socket import install_bounded_websockets, probe_middleware  # noqa: E402

install_bounded_websockets()
current().freeze_heap()  # short full collections in the server (streaming/runtime/heap.py)
# the watched users' streams and the push sender start with the server, not its first tab:
# on the loop daphne's reactor runs (made when its server module is imported, before the
# application; not the thread's current loop)
_daphne = sys.modules.get("daphne.server")
if _daphne is not None:
    current().agents.start_soon(_daphne.twisted_loop)

# every connection's scope carries the process's shared parts (scope["node"], streaming/node.py)
application = NodeScope(
    probe_middleware(
        ProtocolTypeRouter(
            {
                "http": django_asgi_app,
                # `Authorization: Bearer` (an API token): no Origin check, no session
                "websocket": BearerWebsocketMiddleware(
                    URLRouter(websocket_urlpatterns),
                    OriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
                ),
            }
        )
    )
)
