"""Tradier's REST API called as its documentation shows (Tradier has no official SDK)."""

from __future__ import annotations

import uuid

import httpx

from sandbox.server import SandboxServer


def tradier_client(sandbox: SandboxServer, token: str | None = None) -> httpx.Client:
    """A client of the sandbox's Tradier façade: a bearer token (a new customer of its own
    unless one is given) and JSON answers (Tradier's default is XML)."""
    token = token or f"tradier-{uuid.uuid4().hex[:12]}"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return httpx.Client(base_url=f"{sandbox.url}/tradier", headers=headers, timeout=10)
