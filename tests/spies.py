"""Counting real calls of core functions, so a test can tell a task that ran from one served by the cache."""

from __future__ import annotations

import importlib
from unittest import mock


class CallCounter:
    """Wraps each function named by a dotted path (``flyte.core.training.fit.train_model``): it still runs, and
    ``spies[<function name>].call_count`` counts its calls. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(self, paths):
        self.patches = {}
        for path in paths:
            module, name = path.rsplit(".", 1)
            self.patches[name] = mock.patch(path, wraps=getattr(importlib.import_module(module), name))
        self.spies: dict[str, mock.MagicMock] = {}

    def start(self) -> CallCounter:
        self.spies = {name: p.start() for name, p in self.patches.items()}
        return self

    def stop(self) -> None:
        for p in self.patches.values():
            p.stop()

    def counts(self) -> dict[str, int]:
        """Each wrapped function's calls so far, by its name."""
        return {name: spy.call_count for name, spy in self.spies.items()}

    def __enter__(self) -> CallCounter:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
