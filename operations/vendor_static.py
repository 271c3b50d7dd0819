"""Browser libraries from the npm registry, served as static files without a build step.

`package.json` pins them exactly and `package-lock.json` locks their hashes; `npm ci`
(scripts/bootstrap.sh) installs them into `node_modules/`, which is not committed. This
finder exposes only the files the pages load, under `vendor/<package>/` — the dev server
(WhiteNoise with finders) serves them from `node_modules/`, and `collectstatic` copies
them into STATIC_ROOT where the production storage hashes and compresses them like our
own files (`import … from "../../vendor/…"` in our modules is rewritten to the hashed
name).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import CheckMessage, Error
from django.core.files.storage import FileSystemStorage

#: package -> (its directory in node_modules, the files served from there)
VENDOR_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    # TradingView Lightweight Charts (Apache-2.0): the self-contained ES module build
    "lightweight-charts": (
        "lightweight-charts/dist",
        ("lightweight-charts.standalone.production.mjs",),
    ),
}


def node_modules() -> Path:
    return Path(getattr(settings, "NODE_MODULES_DIR", settings.BASE_DIR / "node_modules"))


class NodeModulesFinder(BaseFinder):
    """Finds `vendor/<package>/<file>` in node_modules (only the files listed above)."""

    def _storages(self) -> Iterator[tuple[str, FileSystemStorage, tuple[str, ...]]]:
        for package, (directory, files) in VENDOR_FILES.items():
            storage = FileSystemStorage(location=node_modules() / directory)
            storage.prefix = f"vendor/{package}"  # type: ignore[attr-defined]
            yield f"vendor/{package}", storage, files

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        missing = [
            str(node_modules() / directory / name)
            for directory, files in VENDOR_FILES.values()
            for name in files
            if not (node_modules() / directory / name).is_file()
        ]
        if not missing:
            return []
        return [
            Error(
                f"browser libraries are not installed: {', '.join(missing)}",
                hint="run `npm ci` (scripts/bootstrap.sh does)",
                id="operations.E101",
            )
        ]

    # Django's finders answer [] for nothing whatever find_all is; its stubs say None
    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:  # type: ignore[override]
        find_all = find_all or bool(kwargs.get("all"))
        for prefix, storage, files in self._storages():
            directory, _, name = path.rpartition("/")
            if directory == prefix and name in files and storage.exists(name):
                found = storage.path(name)
                return [found] if find_all else found
        return []  # nothing: Django's own finders answer [] either way

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for _, storage, files in self._storages():
            for name in files:
                if storage.exists(name):
                    yield name, storage
