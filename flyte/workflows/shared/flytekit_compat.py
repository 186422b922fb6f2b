"""The one place using flytekit's and mashumaro's private API: each dataclass's literal type, built once."""

# flytekit's dataclass transformer builds a mashumaro JSON schema each time a dataclass appears in a task or
# workflow interface, and mashumaro compiles a throwaway class for every field default while doing so: about
# a tenth of a second per dataclass. The pipeline's interfaces name ten dataclasses 55 times (nested ones
# counted), which made importing a workflow module cost over a second more than flytekit itself. The literal type
# of a class does not change while the process runs, so it is kept after the first build; the result is the object
# flytekit would have built, so the registered interface and the one seen at execution stay identical.
#
# tests/workflows/shared/test_flytekit_compat.py fails loudly if flytekit moves what this relies on
# (``TypeEngine._DATACLASS_TRANSFORMER``, ``DataclassTransformer.get_literal_type``), and checks every interface
# dataclass's literal type against plain flytekit's.

from __future__ import annotations

import logging
import threading

from flytekit.core.type_engine import DataclassTransformer, TypeEngine
from flytekit.models.types import LiteralType

from flyte.workflows.shared import literal_type_cache
log = logging.getLogger(__name__)


class MemoizedDataclassTransformer(DataclassTransformer):
    """flytekit's dataclass transformer, keeping each type's literal type (schema included) after its first build,
    in memory and on disk (flyte.workflows.shared.literal_type_cache)."""

    def __init__(self) -> None:
        super().__init__()
        self._literal_types: dict[object, LiteralType] = {}
        self._lock = threading.Lock()

    def get_literal_type(self, t) -> LiteralType:
        try:
            return self._literal_types[t]
        except KeyError:
            pass
        except TypeError:  # an unhashable annotation: build it every time, as flytekit does
            return super().get_literal_type(t)
        built = literal_type_cache.load(t)
        if built is None:
            built = super().get_literal_type(t)
            literal_type_cache.store(t, built)
        with self._lock:
            return self._literal_types.setdefault(t, built)


def install() -> bool:
    """Make flytekit use the memoised transformer for every dataclass (idempotent). False, with a warning, when
    this flytekit no longer has the hook: interfaces are then built the slow way, and correctly."""
    current = getattr(TypeEngine, "_DATACLASS_TRANSFORMER", None)
    if isinstance(current, MemoizedDataclassTransformer):
        return True
    if type(current) is not DataclassTransformer:
        log.warning("flytekit's dataclass transformer is %r: literal types are not memoised", type(current))
        return False
    TypeEngine._DATACLASS_TRANSFORMER = MemoizedDataclassTransformer()
    return True
