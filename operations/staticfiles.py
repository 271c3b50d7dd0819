"""Static files served by the app itself: WhiteNoise, hashed and compressed in production.

Production collects `static/` once per release (`manage.py collectstatic`) into STATIC_ROOT:
every file gets a content-hashed copy (cached for a year, immutable), a gzip and a brotli
variant, and the dashboard's ES modules import each other by their hashed names (so a
release never mixes old and new modules in one browser). Development serves the source
tree as it is, re-read on every request (settings: `WHITENOISE_AUTOREFRESH`).

WhiteNoise's middleware is synchronous only; under daphne that would put every request
(the SSE stream, the snapshot, logins) through Django's one thread for sync code, and its
file responses would be consumed with a warning. `StaticFilesMiddleware` is the same
middleware, able to run async: it answers from memory and reads files in a worker thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponseBase
from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedModuleStorage(CompressedManifestStaticFilesStorage):
    """Hashed, compressed copies; `import … from "./state.js"` rewritten to the hashed
    name (Django's rewriting of ES module imports and exports)."""

    support_js_module_import_aggregation = True
    #: A module's hashed name is known once those of the modules it imports are: one
    #: level of the import chain per pass (main.js → the ticket's entry.js → … is ten
    #: deep; Django stops at five). tests/operations/test_staticfiles.py.
    max_post_process_passes = 32


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, sync or async as the handler around it is (Django adapts either way,
    but async is what daphne runs)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(get_response, **kwargs)
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        if self.autorefresh:  # development: look on disk, off the event loop
            static_file = await sync_to_async(self.find_file, thread_sensitive=False)(
                request.path_info
            )
        else:  # production: the files were indexed at start-up
            static_file = self.files.get(request.path_info)
        if static_file is None:
            get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
            return await get_response(request)
        response = await sync_to_async(self.serve, thread_sensitive=False)(static_file, request)
        if response.streaming and not response.is_async:
            response.streaming_content = _read_in_thread(response.streaming_content)
        return response


async def _read_in_thread(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    """A file response's body, read off the event loop (static files are small; as
    Django's own ASGIStaticFilesHandler does)."""
    for chunk in await sync_to_async(lambda: list(chunks), thread_sensitive=False)():
        yield chunk
