"""Pages and JSON compressed for the browser (gzip), the way the static files already are:
the dashboard's HTML with its embedded snapshot is ~90 KiB, ~15 KiB gzipped.

Django's GZipMiddleware would do it in Django's one shared thread for sync code (its
`process_response` is sync), in front of every page of the process; this one compresses
on the request's own path, async as daphne runs it. It leaves alone what must stream as
it is written (SSE, `StreamingHttpResponse`: a compressor would hold frames back), what is
already encoded, small bodies, and error pages. Compressed pages still carry a CSRF token
and user data: Django masks the CSRF token per response (BREACH), and no page reflects
another site's input.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.utils.regex_helper import _lazy_re_compile
from django.utils.text import compress_string

from streaming.runtime.middleware import ResponseMiddleware

#: Bodies smaller than this are sent as they are (gzip would gain nothing).
MIN_SIZE = 1024
#: What is compressed: pages and JSON.
COMPRESSIBLE = ("text/html", "application/json", "text/csv")
_ACCEPTS_GZIP = _lazy_re_compile(r"\bgzip\b")


def compressed(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """`response`, gzipped when the browser takes it and it is worth it."""
    if response.streaming or response.status_code != 200 or response.has_header("Content-Encoding"):
        return response
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    if content_type not in COMPRESSIBLE:
        return response
    patch_vary_headers(response, ("Accept-Encoding",))
    if not _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
        return response
    body = response.content  # type: ignore[attr-defined]
    if len(body) < MIN_SIZE:
        return response
    smaller = compress_string(body)
    if len(smaller) >= len(body):
        return response
    response.content = smaller  # type: ignore[attr-defined]
    response["Content-Length"] = str(len(smaller))
    response["Content-Encoding"] = "gzip"
    if response.has_header("ETag"):  # a weak ETag: the bytes differ from the identity's
        etag = response["ETag"]
        if not etag.startswith("W/"):
            response["ETag"] = f"W/{etag}"
    return response


class CompressionMiddleware(ResponseMiddleware):
    """`compressed` for every response."""

    def finish(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        return compressed(request, response)
