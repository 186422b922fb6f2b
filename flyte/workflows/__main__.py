"""`python -m flyte.workflows`: build and store every task interface's literal types, as the image does at build time."""

# Imports each module of this package once, so flytekit builds the dataclass types of every task and workflow interface
# and flyte/workflows/shared/literal_type_cache.py keeps them in $PIPELINE_TYPE_CACHE (or its default). A pod, or a
# later run, then reads them instead of building them (about 0.7 s a process). Exits non-zero when the cache holds no
# entry afterwards (off, or not writable), so a build that meant to fill it fails loudly.

from __future__ import annotations

import importlib
import pkgutil
import sys

import flyte.workflows as workflows
from flyte.workflows.shared.literal_type_cache import CACHE_ENV, cache_dir


def warm() -> int:
    """Import every module of flyte.workflows; returns how many entries the literal-type cache then holds."""
    for module in pkgutil.walk_packages(workflows.__path__, f"{workflows.__name__}."):
        importlib.import_module(module.name)
    directory = cache_dir()
    return len(list(directory.glob("*.pb"))) if directory is not None and directory.is_dir() else 0


if __name__ == "__main__":
    entries = warm()
    if not entries:
        sys.exit(f"flyte.workflows: the literal-type cache holds no entry (is {CACHE_ENV} off or not writable?)")
    print(f"{entries} literal types in {cache_dir()}")
