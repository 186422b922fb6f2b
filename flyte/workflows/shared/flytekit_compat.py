"""The one place using flytekit's and mashumaro's private API, each use behind a named function or class."""

# What lives here:
# - each dataclass's literal type, built once (``install``);
# - a content hash carried on a StructuredDataset output (mark_content_hash / marked_content_hash);
# - a map task cached per element on local runs (PerElementCachedMapTask);
# - the local task cache: its location, its store, and a hook on its lookups (set_local_cache_location,
#   local_cache_store, use_local_cache_store, on_local_cache_hit);
# - the module a "not found" error of pyflyte names (missing_entity_module).
# REQUIRED lists every flytekit attribute these rely on; tests/workflows/shared/test_flytekit_compat.py checks each
# exists with the expected signature, so a flytekit upgrade that moves one fails there, naming it.

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

import copy
import functools
import inspect
import logging
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from flytekit import FlyteContextManager
from flytekit.core import local_cache
from flytekit.core.array_node_map_task import ArrayNodeMapTask
from flytekit.core.local_cache import LocalTaskCache
from flytekit.core.type_engine import DataclassTransformer, TypeEngine
from flytekit.exceptions.user import FlyteEntityNotFoundException
from flytekit.types.structured import StructuredDataset
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
        # Each caller gets its own copy: flytekit's union transformer overwrites the ``structure`` of the literal
        # type it is handed (to tag an Optional's variant), which on a shared object would strip the dataclass's
        # field types from every later interface naming it.
        try:
            return copy.deepcopy(self._literal_types[t])
        except KeyError:
            pass
        except TypeError:  # an unhashable annotation: build it every time, as flytekit does
            return super().get_literal_type(t)
        built = literal_type_cache.load(t)
        if built is None:
            built = super().get_literal_type(t)
            literal_type_cache.store(t, built)
        with self._lock:
            kept = self._literal_types.setdefault(t, built)
        return copy.deepcopy(kept)


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


# --- Content hash on a table output ------------------------------------------------------------------------------
# flytekit's HashMethod calls a function with the output object alone, so the hash the writer computed travels on the
# object as an attribute of ours (StructuredDataset has no __slots__ and no field for it).
_CONTENT_HASH = "_content_sha256"


def mark_content_hash(table: StructuredDataset, sha256: str) -> StructuredDataset:
    """Attach ``sha256`` (the table's Parquet bytes' hash) to ``table`` for ``marked_content_hash``; returns ``table``."""
    setattr(table, _CONTENT_HASH, sha256)
    return table


def marked_content_hash(table: StructuredDataset) -> str:
    """The hash ``mark_content_hash`` attached; AttributeError when none was."""
    return getattr(table, _CONTENT_HASH)


# --- A map task cached per element on local runs -----------------------------------------------------------------
class PerElementCachedMapTask(ArrayNodeMapTask):
    """flytekit's ArrayNode map task, with a per-element cache on local runs too.

    On a cluster each element is its own sub-node, cached on its own inputs by propeller. flytekit 1.16 runs a map task
    locally as one task: its cache key is the whole list (one more element misses it), and
    ``ArrayNodeMapTask._raw_execute`` then calls each element's ``execute`` without looking at the cache. Here each
    element goes through the mapped task's own ``local_execute``, which looks up and fills the local cache under the
    mapped task's name, cache version and that element's inputs, as a cluster would. Serialization and pods are
    untouched (a pod loads a plain ArrayNodeMapTask through flytekit's resolver).
    """

    def _raw_execute(self, **kwargs):
        run_task = self.python_function_task
        mapped = [k for k in run_task.python_interface.inputs if k not in self.bound_inputs]
        (name,) = mapped
        ctx = FlyteContextManager.current_context()
        output_type = run_task.python_interface.outputs["o0"]
        results = []
        for element in kwargs[name]:
            inputs = {k: (element if k == name else kwargs[k]) for k in run_task.python_interface.inputs}
            promise = run_task.local_execute(ctx, **inputs)
            results.append(TypeEngine.to_python_value(ctx, promise.val, output_type))
        return results


# --- The local task cache ----------------------------------------------------------------------------------------
def set_local_cache_location(path: str) -> None:
    """Where flytekit keeps its local task cache: a module constant no setting reads, read when the cache first opens."""
    local_cache.CACHE_LOCATION = path


def local_cache_location() -> str:
    """Where flytekit keeps its local task cache unless set_local_cache_location moved it (``~`` not expanded)."""
    return local_cache.CACHE_LOCATION


def local_cache_store():
    """The diskcache.Cache behind flytekit's local task cache (opened when it was not yet)."""
    if not LocalTaskCache._initialized:
        LocalTaskCache.initialize()
    return LocalTaskCache._cache


@contextmanager
def use_local_cache_store(store) -> Iterator[None]:
    """Serve and fill flytekit's local task cache from ``store`` (a diskcache.Cache) inside the block; closes it after."""
    before = (LocalTaskCache.__dict__.get("_cache"), LocalTaskCache._initialized)
    LocalTaskCache._cache, LocalTaskCache._initialized = store, True
    try:
        yield
    finally:
        store.close()
        if before[0] is None:
            del LocalTaskCache._cache
        else:
            LocalTaskCache._cache = before[0]
        LocalTaskCache._initialized = before[1]


def on_local_cache_hit(callback: Callable[[str, object], None]) -> None:
    """Call ``callback(task_name, outputs)`` on every local cache hit (idempotent). flytekit 1.16 reports a hit only as
    an unnamed record on its own logger; ``LocalTaskCache.get`` is the one call every local hit goes through."""
    lookup = LocalTaskCache.get
    if getattr(lookup, "reports_hits", False):
        return

    @functools.wraps(lookup)
    def get(task_name, cache_version, input_literal_map, cache_ignore_input_vars):
        outputs = lookup(task_name, cache_version, input_literal_map, cache_ignore_input_vars)
        if outputs is not None:
            callback(task_name, outputs)
        return outputs

    get.reports_hits = True
    LocalTaskCache.get = staticmethod(get)


# --- pyflyte's errors ----------------------------------------------------------------------------------------------
def missing_entity_module(exc: FlyteEntityNotFoundException) -> str:
    """The module name pyflyte looked the missing task or workflow up in."""
    return exc._module_name


#: (owner, attribute, the parameters it must take or None for a plain attribute): what this module relies on.
REQUIRED: list[tuple[object, str, tuple[str, ...] | None]] = [
    (TypeEngine, "_DATACLASS_TRANSFORMER", None),
    (DataclassTransformer, "get_literal_type", ("self", "t")),
    (ArrayNodeMapTask, "_raw_execute", ("self", "kwargs")),
    (ArrayNodeMapTask, "python_function_task", None),
    (ArrayNodeMapTask, "bound_inputs", None),
    (local_cache, "CACHE_LOCATION", None),
    (LocalTaskCache, "_initialized", None),
    (LocalTaskCache, "initialize", ()),
    (LocalTaskCache, "get", ("task_name", "cache_version", "input_literal_map", "cache_ignore_input_vars")),
    (FlyteEntityNotFoundException, "__init__", ("self", "module_name", "entity_name")),
]


def missing_flytekit_api() -> list[str]:
    """What of ``REQUIRED`` (and the instance attributes set at run time) this flytekit lacks, one line each."""
    problems = []
    for owner, name, params in REQUIRED:
        where = f"{getattr(owner, '__module__', '')}.{getattr(owner, '__qualname__', getattr(owner, '__name__', owner))}.{name}"
        if not hasattr(owner, name):
            problems.append(f"{where} is gone")
        elif params is not None:
            found = tuple(inspect.signature(getattr(owner, name)).parameters)
            if found != params:
                problems.append(f"{where} takes {found}, not {params}")
    if "_cache" not in LocalTaskCache.__annotations__:
        problems.append("flytekit.core.local_cache.LocalTaskCache._cache is gone")
    try:
        raise FlyteEntityNotFoundException("module", "entity")
    except FlyteEntityNotFoundException as exc:
        if getattr(exc, "_module_name", None) != "module":
            problems.append("flytekit.exceptions.user.FlyteEntityNotFoundException._module_name is gone")
    table = StructuredDataset(uri="/nowhere")
    try:
        if marked_content_hash(mark_content_hash(table, "0" * 64)) != "0" * 64:
            raise AttributeError(_CONTENT_HASH)
    except AttributeError:
        problems.append(f"flytekit.types.structured.StructuredDataset no longer keeps an attribute of ours ({_CONTENT_HASH})")
    if not hasattr(table, "literal"):
        problems.append("flytekit.types.structured.StructuredDataset.literal is gone")
    return problems
