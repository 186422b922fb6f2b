"""Dataclass literal types kept on disk between processes, keyed on everything that shapes them."""

# A cached local rerun imports the workflow module again, and building the ten interface dataclasses' JSON schemas
# (with the import of mashumaro's schema builder) was the largest part of that import once each type was built
# only once per process. The key is the flytekit, mashumaro and Python versions plus, for the dataclass and every
# dataclass its fields name, each field's name, type, default and metadata and the class's mashumaro ``Config``:
# what flytekit's and mashumaro's builders read. Change any of them and the key changes, so a stale entry is never
# read; an entry is the serialized literal type the builder made, so a hit is byte for byte what a build gives.
# Entries live in ``$PIPELINE_TYPE_CACHE`` (default ``~/.cache/flyte-pipeline/literal-types``); set it to ``off`` to
# always build. An unreadable or unwritable directory (a pod's read-only home) only means building, never a failure.

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import sys
import typing
from pathlib import Path

from flyteidl.core import types_pb2
from flytekit.models.types import LiteralType

from flyte.core.artifact.provenance import installed

#: Environment variable naming the cache directory, or "off".
CACHE_ENV = "PIPELINE_TYPE_CACHE"
#: Under the user's home directory unless CACHE_ENV names another.
DEFAULT_SUBDIR = Path(".cache", "flyte-pipeline", "literal-types")


def cache_dir() -> Path | None:
    """The directory holding entries, None when the cache is off (or no home directory can be found for it)."""
    setting = os.environ.get(CACHE_ENV, "")
    if setting:
        return None if setting.lower() == "off" else Path(setting)
    try:
        return Path.home() / DEFAULT_SUBDIR
    except RuntimeError:  # a container user without a home
        return None


def describe(t, seen: set | None = None) -> list[str]:
    """Everything about ``t`` that its literal type depends on, as text: nested dataclasses included."""
    seen = set() if seen is None else seen
    lines = [repr(t)]
    pending = [t]
    while pending:
        current = pending.pop()
        pending.extend(typing.get_args(current))
        origin = typing.get_origin(current)
        if origin is not None:
            pending.append(origin)
        if not (dataclasses.is_dataclass(current) and isinstance(current, type)) or current in seen:
            continue
        seen.add(current)
        hints = typing.get_type_hints(current, include_extras=True)
        config = getattr(current, "Config", None)
        lines.append(f"{current.__module__}.{current.__qualname__} config={sorted(vars(config).items()) if config else None!r}")
        # The defining module's bytes too: a schema also carries what no field shows (docstrings, titles, an
        # annotation's metadata), so any edit to that module builds afresh rather than trusting the fields alone.
        lines.append(f"  source={_module_digest(current.__module__)}")
        for f in dataclasses.fields(current):
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            hint = hints.get(f.name, f.type)
            lines.append(f"  {f.name}: {hint!r} = {default!r} {dict(f.metadata)!r} init={f.init}")
            pending.append(hint)
    return lines


@functools.lru_cache(maxsize=None)
def _module_digest(module: str) -> str:
    """sha256 of a module's source file ("" when it has none, e.g. a class made at run time in a test)."""
    source = getattr(sys.modules.get(module), "__file__", None)
    try:
        return hashlib.sha256(Path(source).read_bytes()).hexdigest() if source else ""
    except OSError:
        return ""


@functools.lru_cache(maxsize=1)
def _builders() -> tuple[str, ...]:
    return (*(f"{name}=={installed(name)[1]}" for name in ("flytekit", "mashumaro", "flyteidl")), f"python {sys.version_info[:2]}")


def key(t) -> str:
    """sha256 of the builders' versions and ``describe(t)``."""
    text = "\n".join([*_builders(), *describe(t)])
    return hashlib.sha256(text.encode()).hexdigest()


def load(t) -> LiteralType | None:
    """The stored literal type of ``t``, None when absent, unreadable or the cache is off."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        data = (directory / f"{key(t)}.pb").read_bytes()
        proto = types_pb2.LiteralType()
        proto.ParseFromString(data)
        return LiteralType.from_flyte_idl(proto)
    except Exception:  # absent, half-written by a crashed writer, or a type whose description fails: build it
        return None


def store(t, literal_type: LiteralType) -> None:
    """Keep ``literal_type`` for ``t`` (atomically: a reader sees the whole entry or none); failures are ignored."""
    directory = cache_dir()
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{key(t)}.pb"
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(literal_type.to_flyte_idl().SerializeToString(deterministic=True))
        os.replace(partial, path)
    except Exception:  # a read-only home, a full disk: the next process builds it again
        return
