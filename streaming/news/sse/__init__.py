"""The news SSE stream for scripts: its parameters, the stream, the view."""
