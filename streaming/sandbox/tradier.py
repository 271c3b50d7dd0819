"""The Tradier façade of the sandbox (placeholder: being built)."""

from __future__ import annotations

from typing import Any

routes: list[Any] = []


class TradierSandbox:
    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox

    def credential_states(self) -> dict[str, dict[str, Any]]:
        return {}
